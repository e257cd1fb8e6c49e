package dev.sandboxmetrics.simulator.state;

import dev.sandboxmetrics.simulator.ContainerSpec;
import dev.sandboxmetrics.snapshot.Registration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Everything a runsc state file says about one container, in the terms runsc uses (docs/runsc-protocol.md section
 * 2). The simulator fills one per container and hands it to {@link StateFiles#write}.
 *
 * @param status creating, created, running, stopped or paused
 * @param annotations the OCI spec's annotations (CRI container type, pod name, nvproxy...)
 * @param resources the OCI spec's {@code linux.resources}, or null for none
 * @param cgroupsPath the OCI spec's {@code linux.cgroupsPath}, or null for none
 */
public record ContainerState(
    String containerId,
    String sandboxId,
    Instant createdAt,
    String status,
    String ociVersion,
    long uid,
    long gid,
    List<String> args,
    Capabilities capabilities,
    Map<String, String> annotations,
    String hostname,
    SandboxState sandbox,
    ContainerSpec.Resources resources,
    String cgroupsPath) {

  /** A container without {@code linux.resources} whose {@code linux.cgroupsPath} is the sandbox's. */
  public ContainerState(String containerId, String sandboxId, Instant createdAt, String status, String ociVersion,
      long uid, long gid, List<String> args, Capabilities capabilities, Map<String, String> annotations,
      String hostname, SandboxState sandbox) {
    this(containerId, sandboxId, createdAt, status, ociVersion, uid, gid, args, capabilities, annotations,
        hostname, sandbox, null, sandbox == null ? null : sandbox.cgroupPath());
  }

  public ContainerState {
    Objects.requireNonNull(containerId, "containerId");
    Objects.requireNonNull(sandboxId, "sandboxId");
    Objects.requireNonNull(createdAt, "createdAt");
    Objects.requireNonNull(status, "status");
    Objects.requireNonNull(sandbox, "sandbox");
    args = List.copyOf(args);
    annotations = Map.copyOf(annotations);
  }

  /** A copy with another status (and, for the sandbox part, maybe another PID). */
  public ContainerState with(String newStatus, SandboxState newSandbox) {
    return new ContainerState(containerId, sandboxId, createdAt, newStatus, ociVersion, uid, gid, args,
        capabilities, annotations, hostname, newSandbox, resources, cgroupsPath);
  }

  /** The five capability sets of an OCI process; empty sets are left out of the JSON, as Go does. */
  public record Capabilities(
      List<String> bounding,
      List<String> effective,
      List<String> inheritable,
      List<String> permitted,
      List<String> ambient) {
    public Capabilities {
      bounding = List.copyOf(bounding);
      effective = List.copyOf(effective);
      inheritable = List.copyOf(inheritable);
      permitted = List.copyOf(permitted);
      ambient = List.copyOf(ambient);
    }
  }

  /**
   * The {@code sandbox} object, the same in every container's state file of a sandbox.
   *
   * @param registeredMetrics null when the sandbox was not asked to export metrics
   * @param metricServerAddress "" when the sandbox was not asked to export metrics
   * @param cgroupPath the sandbox's cgroup v2 path, or null for none
   */
  public record SandboxState(
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
      boolean checkpointed,
      boolean restored,
      long cpuTimeSavedNanos,
      long wallTimeSavedNanos) {

    public SandboxState {
      Objects.requireNonNull(id, "id");
      podName = podName == null ? "" : podName;
      namespace = namespace == null ? "" : namespace;
      metricMetadata = metricMetadata == null ? null : Map.copyOf(metricMetadata);
      metricServerAddress = metricServerAddress == null ? "" : metricServerAddress;
      controlSocketPath = controlSocketPath == null ? "" : controlSocketPath;
    }

    public SandboxState withPid(long newPid) {
      return new SandboxState(id, podName, namespace, newPid, uid, gid, cgroupPath, registeredMetrics,
          metricMetadata, metricServerAddress, controlSocketPath, startTime, checkpointed, restored,
          cpuTimeSavedNanos, wallTimeSavedNanos);
    }
  }
}
