package dev.sandboxmetrics.runsc.discovery;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * One container's state file as runsc wrote it ({@code ROOT/<cid>_sandbox:<sid>.state}), reduced to what
 * metrics need: the container's ID, creation time, status, the parts of its OCI spec that feed labels, and
 * the copy of its sandbox's record. Built by {@link RootDirectory}; grouped into a {@link SandboxInfo}.
 *
 * <p>runsc keeps a full copy of the sandbox record in every container's state file; the root container's
 * copy is the authoritative one (that is the one runsc's metric server reads).
 */
public final class ContainerState {
  /** Annotation containerd sets on each container: {@code sandbox} for the root, {@code container} otherwise. */
  public static final String CONTAINERD_TYPE_ANNOTATION = "io.kubernetes.cri.container-type";
  /** CRI-O's equivalent of {@link #CONTAINERD_TYPE_ANNOTATION}. */
  public static final String CRIO_TYPE_ANNOTATION = "io.kubernetes.cri-o.ContainerType";

  private final StateFileName name;
  private final Path stateFile;
  private final FileIdentity identity;
  private final String id;
  private final Instant createdAt;
  private final String status;
  private final Spec spec;
  private final SandboxRecord sandbox;

  ContainerState(
      StateFileName name,
      Path stateFile,
      FileIdentity identity,
      String id,
      Instant createdAt,
      String status,
      Spec spec,
      SandboxRecord sandbox) {
    this.name = Objects.requireNonNull(name);
    this.stateFile = Objects.requireNonNull(stateFile);
    this.identity = identity;
    this.id = Objects.requireNonNull(id);
    this.createdAt = Objects.requireNonNull(createdAt);
    this.status = Objects.requireNonNull(status);
    this.spec = Objects.requireNonNull(spec);
    this.sandbox = sandbox;
  }

  /** The IDs from the file name. */
  public StateFileName name() {
    return name;
  }

  public String id() {
    return id;
  }

  public String sandboxId() {
    return name.sandboxId();
  }

  public Path stateFile() {
    return stateFile;
  }

  /** The state file's stat identity, taken just before it was read. */
  public FileIdentity identity() {
    return identity;
  }

  /**
   * {@code createdAt}, nanoseconds kept. Go's zero time ({@code 0001-01-01T00:00:00Z}) when the file has
   * none, as runsc would see it.
   */
  public Instant createdAt() {
    return createdAt;
  }

  /** {@code creating}, {@code created}, {@code running}, {@code stopped}, {@code paused}, or "" when absent. */
  public String status() {
    return status;
  }

  public Spec spec() {
    return spec;
  }

  /** The sandbox record stored with this container; null when the state file has none. */
  public SandboxRecord sandbox() {
    return sandbox;
  }

  /**
   * runsc's {@code IsRootContainer}: true unless the container-type annotation (containerd's first, then
   * CRI-O's) says {@code container}. Containers without annotations (plain Docker) all count as roots.
   */
  public boolean isRootByAnnotation() {
    Map<String, String> a = spec.annotations();
    String type = a.get(CONTAINERD_TYPE_ANNOTATION);
    if (type == null) {
      type = a.get(CRIO_TYPE_ANNOTATION);
    }
    return !"container".equals(type);
  }

  @Override
  public String toString() {
    return "container " + id + " of sandbox " + name.sandboxId() + " (" + stateFile + ")";
  }

  /**
   * The parts of the container's OCI runtime spec that feed labels.
   *
   * @param ociVersion {@code ociVersion}, "" when absent
   * @param uid {@code process.user.uid}; null when the spec has no {@code process} (then the container does
   *     not count as running as root)
   * @param capabilities the five capability sets of {@code process.capabilities}, empty when absent
   * @param annotations {@code annotations}, empty when absent
   */
  public record Spec(String ociVersion, Long uid, Capabilities capabilities, Map<String, String> annotations) {
    public Spec {
      ociVersion = ociVersion == null ? "" : ociVersion;
      capabilities = capabilities == null ? Capabilities.NONE : capabilities;
      annotations = annotations == null ? Map.of() : Map.copyOf(annotations);
    }

    /** runsc's {@code RunsAsUID0}. */
    public boolean runsAsUid0() {
      return uid != null && uid == 0;
    }
  }

  /** The five capability sets of an OCI process, as strings such as {@code CAP_CHOWN}. */
  public record Capabilities(
      List<String> bounding,
      List<String> effective,
      List<String> inheritable,
      List<String> permitted,
      List<String> ambient) {
    public static final Capabilities NONE = new Capabilities(null, null, null, null, null);

    public Capabilities {
      bounding = bounding == null ? List.of() : List.copyOf(bounding);
      effective = effective == null ? List.of() : List.copyOf(effective);
      inheritable = inheritable == null ? List.of() : List.copyOf(inheritable);
      permitted = permitted == null ? List.of() : List.copyOf(permitted);
      ambient = ambient == null ? List.of() : List.copyOf(ambient);
    }

    /** runsc's {@code HasCapabilityInAnySet}. */
    public boolean inAnySet(String capability) {
      return bounding.contains(capability)
          || effective.contains(capability)
          || inheritable.contains(capability)
          || permitted.contains(capability)
          || ambient.contains(capability);
    }
  }

  /**
   * What a sandbox record says about checkpoint and restore: runsc's {@code checkpointed},
   * {@code restored}, {@code cpuTimeSaved} and {@code wallTimeSaved} (durations, nanoseconds in the file).
   * Read here, written by the simulator from the same record.
   */
  public record Checkpoint(boolean checkpointed, boolean restored, Duration cpuTimeSaved, Duration wallTimeSaved) {
    /** Never checkpointed nor restored: Go's zero values. */
    public static final Checkpoint NONE = new Checkpoint(false, false, Duration.ZERO, Duration.ZERO);

    public Checkpoint {
      Objects.requireNonNull(cpuTimeSaved, "cpuTimeSaved");
      Objects.requireNonNull(wallTimeSaved, "wallTimeSaved");
    }
  }

  /**
   * The sandbox record ({@code "sandbox": {...}}) of a state file.
   *
   * <p>{@code registeredMetrics} is kept undecoded here, as the JSON text of the object: every container's
   * file carries a copy, and only the root container's copy is decoded ({@link SandboxInfo#registration()}).
   */
  public static final class SandboxRecord {
    private final String id;
    private final long pid;
    private final String podName;
    private final String namespace;
    private final String controlSocketPath;
    private final String metricServerAddress;
    private final Map<String, String> metricMetadata;
    private final byte[] registeredMetrics;
    private final Checkpoint checkpoint;

    SandboxRecord(
        String id,
        long pid,
        String podName,
        String namespace,
        String controlSocketPath,
        String metricServerAddress,
        Map<String, String> metricMetadata,
        byte[] registeredMetrics,
        Checkpoint checkpoint) {
      this.id = id;
      this.pid = pid;
      this.podName = podName;
      this.namespace = namespace;
      this.controlSocketPath = controlSocketPath;
      this.metricServerAddress = metricServerAddress;
      this.metricMetadata = Map.copyOf(metricMetadata);
      this.registeredMetrics = registeredMetrics;
      this.checkpoint = Objects.requireNonNull(checkpoint);
    }

    public String id() {
      return id;
    }

    /** The sandbox process, 0 when not running. */
    public long pid() {
      return pid;
    }

    public String podName() {
      return podName;
    }

    public String namespace() {
      return namespace;
    }

    /** As recorded; "" when absent. Use {@link SandboxInfo#controlSocketPath()} to connect. */
    public String controlSocketPath() {
      return controlSocketPath;
    }

    /** As recorded, before {@code %RUNTIME_ROOT%} replacement; "" when metrics were not requested. */
    public String metricServerAddress() {
      return metricServerAddress;
    }

    public Map<String, String> metricMetadata() {
      return metricMetadata;
    }

    /** True when the record holds a non-null {@code registeredMetrics}. */
    public boolean hasRegistration() {
      return registeredMetrics != null;
    }

    /** The JSON object {@code registeredMetrics} as it appears in the file; null when absent or null. */
    byte[] registeredMetricsJson() {
      return registeredMetrics;
    }

    public Checkpoint checkpoint() {
      return checkpoint;
    }
  }
}
