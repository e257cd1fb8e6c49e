package dev.sandboxmetrics.simulator;

import java.io.BufferedWriter;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Sandbox churn for soak tests ({@code sandbox-metrics simulate --churn N}, driven by {@code bench/run-soak}):
 * each {@link #step} destroys the N oldest sandboxes of a {@link Simulator} and creates N new ones with new
 * IDs, so a metric server sees real departures and arrivals while the count stays the same.
 *
 * <p>The optional log says when each sandbox lived, so a soak can tell which sandboxes a scrape had to show
 * without false alarms: one line per event, {@code <epoch ms> create|destroy <id>}. A "create" is written
 * after the sandbox is running (state file says running, its socket answers); a "destroy" before anything of
 * it is taken away. So a sandbox whose create is before a scrape's start and whose destroy (if any) is after
 * the scrape's end existed, running, for the whole scrape. Not thread-safe: one caller steps.
 */
public final class Churn implements Closeable {
  private final Simulator sim;
  private final int perStep;
  private final UnaryOperator<SandboxSpec> successor;
  private final BufferedWriter log;
  private long created;
  private long destroyed;

  /**
   * @param perStep how many sandboxes each step replaces (at least 1)
   * @param successor the spec of the sandbox replacing the given one (a new ID, the rest as wanted)
   * @param logFile where to append the lifetime log, or null for none
   */
  public Churn(Simulator sim, int perStep, UnaryOperator<SandboxSpec> successor, Path logFile) throws IOException {
    if (perStep < 1) {
      throw new IllegalArgumentException("churn must replace at least 1 sandbox per step, got " + perStep);
    }
    this.sim = sim;
    this.perStep = perStep;
    this.successor = successor;
    this.log = logFile == null ? null : Files.newBufferedWriter(logFile, StandardCharsets.UTF_8,
        StandardOpenOption.CREATE, StandardOpenOption.APPEND);
  }

  /** Logs the sandboxes that exist now as created (the ones made before churning starts). */
  public void logExisting() {
    long now = System.currentTimeMillis();
    for (SimulatedSandbox sb : sim.sandboxes()) {
      write(now, "create", sb.id());
    }
    flush();
  }

  /**
   * Destroys the {@code perStep} oldest sandboxes (fewer if there are fewer), then creates as many
   * successors, started.
   *
   * @throws IOException when a successor cannot be made
   */
  public void step() throws IOException {
    List<SimulatedSandbox> all = sim.sandboxes();
    List<SimulatedSandbox> victims = new ArrayList<>(all.subList(0, Math.min(perStep, all.size())));
    for (SimulatedSandbox sb : victims) {
      write(System.currentTimeMillis(), "destroy", sb.id());
      flush();
      sb.destroy();
      destroyed++;
    }
    for (SimulatedSandbox sb : victims) {
      SimulatedSandbox next = sim.createRunning(successor.apply(sb.spec()));
      created++;
      write(System.currentTimeMillis(), "create", next.id());
    }
    flush();
  }

  /** Sandboxes created by {@link #step} so far. */
  public long created() {
    return created;
  }

  /** Sandboxes destroyed by {@link #step} so far. */
  public long destroyed() {
    return destroyed;
  }

  @Override
  public void close() throws IOException {
    if (log != null) {
      log.close();
    }
  }

  private void write(long epochMillis, String event, String id) {
    if (log == null) {
      return;
    }
    try {
      log.write(epochMillis + " " + event + " " + id + "\n");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the churn log", e);
    }
  }

  private void flush() {
    if (log == null) {
      return;
    }
    try {
      log.flush();
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the churn log", e);
    }
  }
}
