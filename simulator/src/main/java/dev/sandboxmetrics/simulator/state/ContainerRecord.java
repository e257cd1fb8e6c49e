package dev.sandboxmetrics.simulator.state;

import dev.sandboxmetrics.runsc.discovery.ContainerState;
import dev.sandboxmetrics.simulator.ContainerSpec;
import dev.sandboxmetrics.snapshot.Registration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the simulator writes into one container's state file: runsc's Go {@code Container} record, in the
 * fields the simulator sets (docs/runsc-protocol.md section 2). The simulator fills one per container and
 * hands it to {@link StateFiles#write}.
 *
 * <p>The reading side is {@link ContainerState} (runsc-client), and the two are kept apart on purpose: this
 * one holds what is written and nowhere read by the product (args, gid, hostname, resources, the cgroup, the
 * registration as a model to encode), that one what was read (the file it came from, its stat identity, the
 * registration as undecoded bytes, a uid that may be absent). What both describe in the same terms is
 * shared: the capability sets ({@link ContainerState.Capabilities}) and the file names
 * ({@link dev.sandboxmetrics.runsc.discovery.StateFileName}).
 *
 * @param status creating, created, running, stopped or paused
 * @param capabilities the process's capability sets, or null to write no {@code capabilities} object
 * @param annotations the OCI spec's annotations (CRI container type, pod name, nvproxy...)
 * @param resources the OCI spec's {@code linux.resources}, or null for none
 * @param cgroupsPath the OCI spec's {@code linux.cgroupsPath}, or null for none
 */
public record ContainerRecord(
    String containerId,
    String sandboxId,
    Instant createdAt,
    String status,
    String ociVersion,
    long uid,
    long gid,
    List<String> args,
    ContainerState.Capabilities capabilities,
    Map<String, String> annotations,
    String hostname,
    Sandbox sandbox,
    ContainerSpec.Resources resources,
    String cgroupsPath) {

  /** A container without {@code linux.resources} whose {@code linux.cgroupsPath} is the sandbox's. */
  public ContainerRecord(String containerId, String sandboxId, Instant createdAt, String status,
      String ociVersion, long uid, long gid, List<String> args, ContainerState.Capabilities capabilities,
      Map<String, String> annotations, String hostname, Sandbox sandbox) {
    this(containerId, sandboxId, createdAt, status, ociVersion, uid, gid, args, capabilities, annotations,
        hostname, sandbox, null, sandbox == null ? null : sandbox.cgroupPath());
  }

  public ContainerRecord {
    Objects.requireNonNull(containerId, "containerId");
    Objects.requireNonNull(sandboxId, "sandboxId");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(sandbox, "sandbox");
    args = List.copyOf(args);
    annotations = Map.copyOf(annotations);
  }

  /** A copy with another status (and, for the sandbox part, maybe another PID). */
  public ContainerRecord with(String newStatus, Sandbox newSandbox) {
    return new ContainerRecord(containerId, sandboxId, createdAt, newStatus, ociVersion, uid, gid, args,
        capabilities, annotations, hostname, newSandbox, resources, cgroupsPath);
  }

  /**
   * The {@code sandbox} object, the same in every container's state file of a sandbox.
   *
   * @param registeredMetrics null when the sandbox was not asked to export metrics
   * @param metricServerAddress "" when the sandbox was not asked to export metrics
   * @param cgroupPath the sandbox's cgroup v2 path, or null for none
   */
  public record Sandbox(
      String id,
      String podName,
      String namespace,
      long pid,
      long uid,
      long gid,
      String cgroupPath,
      Registration registeredMetrics,
      Map<String, String> metricMetadata,
      String metricServerAddress,
      String controlSocketPath,
      Instant startTime,
      ContainerState.Checkpoint checkpoint) {

    public Sandbox {
      Objects.requireNonNull(id, "id");
      podName = podName == null ? "" : podName;
      namespace = namespace == null ? "" : namespace;
      metricMetadata = metricMetadata == null ? null : Map.copyOf(metricMetadata);
      metricServerAddress = metricServerAddress == null ? "" : metricServerAddress;
      controlSocketPath = controlSocketPath == null ? "" : controlSocketPath;
      checkpoint = checkpoint == null ? ContainerState.Checkpoint.NONE : checkpoint;
    }

    public Sandbox withPid(long newPid) {
      return new Sandbox(id, podName, namespace, newPid, uid, gid, cgroupPath, registeredMetrics,
          metricMetadata, metricServerAddress, controlSocketPath, startTime, checkpoint);
    }
  }
}
