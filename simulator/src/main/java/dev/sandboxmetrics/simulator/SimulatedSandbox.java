package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.simulator.state.ContainerRecord;
import dev.sandboxmetrics.simulator.state.StateFiles;
import dev.sandboxmetrics.simulator.urpc.Binding;
import dev.sandboxmetrics.snapshot.Registration;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * One simulated sandbox incarnation, made by {@link Simulator#create}: its state files in the root
 * directory, its holder process (the {@code pid} of the state file) and its control socket. The lifecycle
 * follows runsc's:
 *
 * <ul>
 *   <li>after {@code create}: status {@code created}; as with {@code runsc create}, the sandbox process is
 *       already up, its control socket answers and its registration is in the state file;
 *   <li>{@link #start()}: status {@code running};
 *   <li>{@link #stop()}: status {@code stopped}, process gone, socket no longer answering (the file stays);
 *   <li>{@link #kill9()}: the process dies by SIGKILL and nothing is updated: the state file still says
 *       {@code running} and names a PID that is gone, the leftover a metric server must ignore;
 *   <li>{@link #destroy()}: state, lock and socket files removed.
 * </ul>
 *
 * Re-creating the same ID ({@link Simulator#recreate}) gives a new incarnation with a new {@code createdAt}.
 * Thread-safe.
 */
public final class SimulatedSandbox {
  /** Where a sandbox is in its lifecycle, as the simulator knows it. */
  public enum Status {
    CREATED,
    RUNNING,
    STOPPED,
    /** Killed with SIGKILL: the state file still says running, the process is gone. */
    KILLED,
    DESTROYED
  }

  private final Simulator simulator;
  private final SandboxSpec spec;
  private final Instant createdAt;
  private final SandboxEndpoint endpoint;
  private final Registration registration;
  private final Path controlSocket;
  private final boolean removeSocketFile;
  private final List<ContainerRecord> containers;
  private final PodStats podStats;
  private Holder holder;
  private Binding binding;
  private Status status = Status.CREATED;

  SimulatedSandbox(
      Simulator simulator,
      SandboxSpec spec,
      Instant createdAt,
      SandboxEndpoint endpoint,
      Registration registration,
      Path controlSocket,
      boolean removeSocketFile,
      List<ContainerRecord> containers,
      Holder holder,
      Binding binding,
      PodStats podStats) {
    this.podStats = podStats;
    this.simulator = simulator;
    this.spec = spec;
    this.createdAt = createdAt;
    this.endpoint = endpoint;
    this.registration = registration;
    this.controlSocket = controlSocket;
    this.removeSocketFile = removeSocketFile;
    this.containers = new ArrayList<>(containers);
    this.holder = holder;
    this.binding = binding;
  }

  public String id() {
    return spec.id();
  }

  public SandboxSpec spec() {
    return spec;
  }

  public synchronized Status status() {
    return status;
  }

  /** The holder process's PID, as written in the state file (it stays there after stop or kill). */
  public long pid() {
    return containers.get(0).sandbox().pid();
  }

  /** True while the holder process lives. */
  public synchronized boolean isAlive() {
    return holder != null && holder.isAlive();
  }

  /** The root container's creation time, with nanoseconds, as written in the state file. */
  public Instant createdAt() {
    return createdAt;
  }

  /** The root container's state file {@code ROOT/<id>_sandbox:<id>.state}. */
  public Path stateFile() {
    return StateFiles.statePath(simulator.root(), id(), id());
  }

  /** The root container's lock file. */
  public Path lockFile() {
    return StateFiles.lockPath(simulator.root(), id(), id());
  }

  /** Every container's state file, the root container's first. */
  public List<Path> stateFiles() {
    List<Path> out = new ArrayList<>();
    for (ContainerRecord c : containers) {
      out.add(StateFiles.statePath(simulator.root(), c.containerId(), id()));
    }
    return out;
  }

  /** The container IDs, the root container (= sandbox ID) first. */
  public List<String> containerIds() {
    List<String> out = new ArrayList<>();
    for (ContainerRecord c : containers) {
      out.add(c.containerId());
    }
    return out;
  }

  /** The containers' resource use this sandbox reports through containerManager.Event. */
  public PodStats podStats() {
    return podStats;
  }

  /** Where the control socket is bound (whatever the state file says). */
  public Path controlSocket() {
    return controlSocket;
  }

  /** The metrics this sandbox registered (null in the state file when it was not asked for metrics). */
  public Registration registration() {
    return registration;
  }

  /** The {@code metricServerAddress} written in the state file ("" for none). */
  public String metricServerAddress() {
    return containers.get(0).sandbox().metricServerAddress();
  }

  public Fault fault() {
    return endpoint.fault();
  }

  /** Changes how the sandbox answers from its next call on; a call already being answered is not affected. */
  public void setFault(Fault fault) {
    endpoint.setFault(Objects.requireNonNull(fault, "fault"));
  }

  /** {@code runsc start}: status {@code running}. */
  public synchronized void start() {
    require(Status.CREATED, "start");
    writeAll("running");
    status = Status.RUNNING;
  }

  /** The sandbox stops: its process exits, its socket stops answering, status {@code stopped}. */
  public synchronized void stop() {
    if (status != Status.CREATED && status != Status.RUNNING) {
      throw new IllegalStateException("cannot stop sandbox " + id() + " in state " + status);
    }
    endLife(false);
    writeAll("stopped");
    status = Status.STOPPED;
  }

  /** SIGKILL to the sandbox process; the state file is left saying what it said. */
  public synchronized void kill9() {
    if (status != Status.CREATED && status != Status.RUNNING) {
      throw new IllegalStateException("cannot kill sandbox " + id() + " in state " + status);
    }
    endLife(true);
    status = Status.KILLED;
  }

  /** Kills what still runs and removes the sandbox's files: state and lock files, control socket. */
  public void destroy() {
    synchronized (this) {
      if (status == Status.DESTROYED) {
        return;
      }
      endLife(false);
      try {
        for (int i = containers.size() - 1; i >= 0; i--) {
          StateFiles.remove(simulator.root(), containers.get(i).containerId(), id());
        }
        if (removeSocketFile) {
          java.nio.file.Files.deleteIfExists(controlSocket);
        }
        podStats.removeCgroup(simulator.cgroupRoot());
      } catch (IOException e) {
        throw new UncheckedIOException("cannot remove the files of sandbox " + id(), e);
      } finally {
        status = Status.DESTROYED;
      }
    }
    simulator.forget(this);
  }

  /** Asks the holder to exit without waiting (the simulator's close does this for all sandboxes first). */
  synchronized void signalStop() {
    if (holder != null) {
      holder.signalStop();
    }
  }

  private void endLife(boolean sigkill) {
    if (holder != null) {
      if (sigkill) {
        holder.kill();
      } else {
        holder.stop();
      }
      holder = null;
    }
    if (binding != null) {
      binding.close();
      binding = null;
    }
  }

  private void writeAll(String newStatus) {
    try {
      for (int i = 0; i < containers.size(); i++) {
        ContainerRecord c = containers.get(i).with(newStatus, containers.get(i).sandbox());
        StateFiles.write(simulator.root(), c, simulator.zone());
        containers.set(i, c);
      }
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the state files of sandbox " + id(), e);
    }
  }

  private void require(Status expected, String action) {
    if (status != expected) {
      throw new IllegalStateException(
          "cannot " + action + " sandbox " + id() + " in state " + status + " (must be " + expected + ")");
    }
  }

  /** Connections its control socket accepted since it was last started (0 before). */
  public synchronized long acceptedConnections() {
    return binding == null ? 0 : binding.acceptedConnections();
  }

  /** The open connections to its control socket (0 once stopped). */
  public synchronized int openConnections() {
    return binding == null ? 0 : binding.openConnections();
  }

  @Override
  public String toString() {
    return "sandbox " + id() + " (pid " + pid() + ", " + status().name().toLowerCase() + ")";
  }
}
