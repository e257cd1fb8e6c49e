package dev.sandboxmetrics.runsc.discovery;

import java.util.List;
import java.util.Map;

/**
 * The labels of the {@code spec_metadata} meta metric, merged over all containers of a sandbox as runsc's
 * {@code ComputeSpecMetadata} does: whether any container runs as uid 0, the OCI version they share, and
 * whether any asks for nvproxy or tpuproxy. The label set is the same however many containers there are.
 *
 * @param ociVersion the first container's {@code ociVersion} when all agree (possibly ""), {@link #UNKNOWN}
 *     when there are no containers, {@link #INCONSISTENT} when they differ
 */
public record SpecMetadata(boolean hasUid0, String ociVersion, boolean nvproxy, boolean tpuproxy) {
  public static final String UNKNOWN = "UNKNOWN";
  public static final String INCONSISTENT = "INCONSISTENT";
  public static final String NVPROXY_ANNOTATION = "dev.gvisor.internal.nvproxy";
  public static final String TPUPROXY_ANNOTATION = "dev.gvisor.internal.tpuproxy";

  /** Merges the containers' specs in the given order (the order matters only in runsc's corner cases). */
  public static SpecMetadata of(List<ContainerState> containers) {
    boolean uid0 = false;
    boolean nv = false;
    boolean tpu = false;
    String version = UNKNOWN;
    for (ContainerState c : containers) {
      ContainerState.Spec spec = c.spec();
      uid0 |= spec.runsAsUid0();
      // Mirrors runsc exactly, including its quirk: UNKNOWN is a placeholder that the next container's
      // version replaces, so a container that declares "UNKNOWN" itself does not pin the value.
      if (version.equals(UNKNOWN)) {
        version = spec.ociVersion();
      } else if (!version.equals(spec.ociVersion())) {
        version = INCONSISTENT;
      }
      nv |= "true".equals(spec.annotations().get(NVPROXY_ANNOTATION));
      tpu |= "true".equals(spec.annotations().get(TPUPROXY_ANNOTATION));
    }
    return new SpecMetadata(uid0, version, nv, tpu);
  }

  /** {@code hasuid0}, {@code ociversion}, {@code nvproxy}, {@code tpuproxy}, booleans as "true"/"false". */
  public Map<String, String> labels() {
    return Map.of(
        "hasuid0", Boolean.toString(hasUid0),
        "ociversion", ociVersion,
        "nvproxy", Boolean.toString(nvproxy),
        "tpuproxy", Boolean.toString(tpuproxy));
  }
}
