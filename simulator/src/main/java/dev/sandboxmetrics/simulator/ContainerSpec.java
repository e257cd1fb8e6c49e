package dev.sandboxmetrics.simulator;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What the OCI spec of one container in a simulated sandbox says about its process: user, capabilities,
 * OCI version and annotations (e.g. {@code dev.gvisor.internal.nvproxy=true}). The sandbox's root container
 * is configured through {@link SandboxSpec.Builder}; sub-containers with {@link SandboxSpec.Builder#subContainer}.
 * The simulator adds the CRI annotations (container type, sandbox ID, pod name) itself.
 */
public final class ContainerSpec {
  /** Docker's and containerd's default capability set, what most containers run with. */
  public static final List<String> DEFAULT_CAPABILITIES =
      List.of(
          "CAP_CHOWN",
          "CAP_DAC_OVERRIDE",
          "CAP_FSETID",
          "CAP_FOWNER",
          "CAP_MKNOD",
          "CAP_NET_RAW",
          "CAP_SETGID",
          "CAP_SETUID",
          "CAP_SETFCAP",
          "CAP_SETPCAP",
          "CAP_NET_BIND_SERVICE",
          "CAP_SYS_CHROOT",
          "CAP_KILL",
          "CAP_AUDIT_WRITE");

  private final String id;
  private final long uid;
  private final long gid;
  private final String ociVersion;
  private final List<String> bounding;
  private final List<String> effective;
  private final List<String> inheritable;
  private final List<String> permitted;
  private final List<String> ambient;
  private final Map<String, String> annotations;
  private final List<String> args;
  private final String name;
  private final String image;
  private final Resources resources;

  /**
   * The part of the OCI spec's {@code linux.resources} that the kubelet sets and cAdvisor reports: memory
   * limit in bytes, CPU shares, quota and period (microseconds). A null field is left out of the spec.
   */
  public record Resources(Long memoryLimit, Long cpuShares, Long cpuQuota, Long cpuPeriod) {
    /** What the kubelet writes for the pause container: 2 CPU shares, nothing else. */
    public static final Resources PAUSE = new Resources(null, 2L, null, null);

    /** A container with {@code resources.limits} of {@code cpuMillis} CPU and {@code memory} bytes. */
    public static Resources limits(long cpuMillis, long memory) {
      // The kubelet's conversions: shares = millis * 1024 / 1000, quota = millis * period / 1000.
      return new Resources(memory, Math.max(2, cpuMillis * 1024 / 1000), cpuMillis * 100, 100_000L);
    }
  }

  private ContainerSpec(Builder b) {
    id = b.id;
    uid = b.uid;
    gid = b.gid;
    ociVersion = b.ociVersion;
    bounding = List.copyOf(b.bounding);
    effective = List.copyOf(b.effective);
    inheritable = List.copyOf(b.inheritable);
    permitted = List.copyOf(b.permitted);
    ambient = List.copyOf(b.ambient);
    annotations = Map.copyOf(b.annotations);
    args = List.copyOf(b.args);
    name = b.name;
    image = b.image;
    resources = b.resources;
  }

  /** The Kubernetes container name (CRI annotations), or null for the container ID. */
  public String name() {
    return name;
  }

  /** The image reference (CRI annotations), or null for none. */
  public String image() {
    return image;
  }

  /** {@code linux.resources}, or null for none. */
  public Resources resources() {
    return resources;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** The container ID, or null to let the simulator name it {@code <sandbox>-c<N>}. */
  public String id() {
    return id;
  }

  public long uid() {
    return uid;
  }

  public long gid() {
    return gid;
  }

  public String ociVersion() {
    return ociVersion;
  }

  public List<String> bounding() {
    return bounding;
  }

  public List<String> effective() {
    return effective;
  }

  public List<String> inheritable() {
    return inheritable;
  }

  public List<String> permitted() {
    return permitted;
  }

  public List<String> ambient() {
    return ambient;
  }

  /** Annotations given by the user (the simulator adds the CRI ones). */
  public Map<String, String> annotations() {
    return annotations;
  }

  public List<String> args() {
    return args;
  }

  Builder toBuilder() {
    Builder b = new Builder();
    b.id = id;
    b.uid = uid;
    b.gid = gid;
    b.ociVersion = ociVersion;
    b.bounding = bounding;
    b.effective = effective;
    b.inheritable = inheritable;
    b.permitted = permitted;
    b.ambient = ambient;
    b.annotations = new LinkedHashMap<>(annotations);
    b.args = args;
    b.name = name;
    b.image = image;
    b.resources = resources;
    return b;
  }

  /** Defaults: uid 0, OCI version 1.1.0, Docker's default capabilities, no annotations. */
  public static final class Builder {
    private String id;
    private long uid;
    private long gid;
    private String ociVersion = "1.1.0";
    private List<String> bounding = DEFAULT_CAPABILITIES;
    private List<String> effective = DEFAULT_CAPABILITIES;
    private List<String> inheritable = List.of();
    private List<String> permitted = DEFAULT_CAPABILITIES;
    private List<String> ambient = List.of();
    private Map<String, String> annotations = new LinkedHashMap<>();
    private List<String> args = List.of("/bin/sh", "-c", "sleep infinity");
    private String name;
    private String image;
    private Resources resources;

    private Builder() {}

    /** The Kubernetes container name written in the CRI annotations (default: the container ID). */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** The image written in the CRI annotations. */
    public Builder image(String image) {
      this.image = image;
      return this;
    }

    /** {@code linux.resources} of the OCI spec. */
    public Builder resources(Resources resources) {
      this.resources = resources;
      return this;
    }

    /** The container ID (default {@code <sandbox>-c<N>}); must match runsc's {@code [\w+.-]+}. */
    public Builder id(String id) {
      this.id = id;
      return this;
    }

    public Builder uid(long uid) {
      this.uid = uid;
      return this;
    }

    public Builder gid(long gid) {
      this.gid = gid;
      return this;
    }

    public Builder ociVersion(String ociVersion) {
      this.ociVersion = Objects.requireNonNull(ociVersion, "ociVersion");
      return this;
    }

    /** The same capabilities in the bounding, effective and permitted sets (how runtimes set them). */
    public Builder capabilities(List<String> capabilities) {
      bounding = effective = permitted = List.copyOf(capabilities);
      inheritable = ambient = List.of();
      return this;
    }

    public Builder capabilities(String... capabilities) {
      return capabilities(List.of(capabilities));
    }

    /** Each of the five OCI capability sets explicitly. */
    public Builder capabilitySets(
        List<String> bounding,
        List<String> effective,
        List<String> inheritable,
        List<String> permitted,
        List<String> ambient) {
      this.bounding = List.copyOf(bounding);
      this.effective = List.copyOf(effective);
      this.inheritable = List.copyOf(inheritable);
      this.permitted = List.copyOf(permitted);
      this.ambient = List.copyOf(ambient);
      return this;
    }

    public Builder annotation(String key, String value) {
      annotations.put(Objects.requireNonNull(key, "key"), Objects.requireNonNull(value, "value"));
      return this;
    }

    public Builder annotations(Map<String, String> annotations) {
      annotations.forEach(this::annotation);
      return this;
    }

    /** Marks the container as using GPUs through nvproxy ({@code dev.gvisor.internal.nvproxy=true}). */
    public Builder nvproxy() {
      return annotation("dev.gvisor.internal.nvproxy", "true");
    }

    /** Marks the container as using TPUs through tpuproxy ({@code dev.gvisor.internal.tpuproxy=true}). */
    public Builder tpuproxy() {
      return annotation("dev.gvisor.internal.tpuproxy", "true");
    }

    public Builder args(String... args) {
      this.args = List.of(args);
      return this;
    }

    public ContainerSpec build() {
      return new ContainerSpec(this);
    }
  }
}
