package dev.sandboxmetrics.metricserver.containerstats;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import java.io.IOException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Map;

/**
 * What one container's runsc state file says that the container stats need: its status and creation time,
 * the Kubernetes names from the CRI annotations (containerd's {@code io.kubernetes.cri.*}, CRI-O's
 * {@code io.kubernetes.{container,pod}.*} and {@code io.kubernetes.cri-o.*}), its OCI {@code linux.resources}
 * and {@code linux.cgroupsPath}, and the sandbox record's {@code pid} and {@code cgroup}. Read by
 * {@link StateFacts}; immutable.
 *
 * @param pause whether this is the pod's pause container (the sandbox's root container)
 * @param containerName Kubernetes container name, or null without CRI annotations
 * @param memoryLimit {@code linux.resources.memory.limit}, or null
 * @param cgroup the sandbox record's {@code cgroup} (runsc's CgroupJSON) as a JSON tree, or null
 */
public record ContainerFacts(
    String id,
    String sandboxId,
    String status,
    Instant createdAt,
    boolean pause,
    String containerName,
    String podName,
    String namespace,
    String image,
    String cgroupsPath,
    Long memoryLimit,
    Long cpuShares,
    Long cpuQuota,
    Long cpuPeriod,
    long sandboxPid,
    Object cgroup) {

  public boolean isRunning() {
    return "running".equals(status);
  }

  /** Parses a state file's bytes, reading only the members needed (the metric registration is skipped). */
  static ContainerFacts parse(String containerId, String sandboxId, byte[] bytes) throws IOException {
    String status = null;
    Instant createdAt = null;
    Object spec = null;
    long pid = 0;
    Object cgroup = null;
    String podName = "";
    String namespace = "";
    try (JsonParser p = JsonTree.FACTORY.createParser(bytes)) {
      if (p.nextToken() != JsonToken.START_OBJECT) {
        throw new IOException("not a JSON object");
      }
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String name = p.currentName();
        JsonToken t = p.nextToken();
        switch (name) {
          case "status" -> status = t == JsonToken.VALUE_STRING ? p.getText() : null;
          case "createdAt" -> createdAt = t == JsonToken.VALUE_STRING ? time(p.getText()) : null;
          case "spec" -> spec = JsonTree.read(p);
          case "sandbox" -> {
            if (t != JsonToken.START_OBJECT) {
              p.skipChildren();
              break;
            }
            while (p.nextToken() == JsonToken.FIELD_NAME) {
              String member = p.currentName();
              JsonToken v = p.nextToken();
              switch (member) {
                case "pid" -> pid = v == JsonToken.VALUE_NUMBER_INT ? p.getLongValue() : 0;
                case "cgroup" -> cgroup = JsonTree.read(p);
                case "podName" -> podName = v == JsonToken.VALUE_STRING ? p.getText() : "";
                case "namespace" -> namespace = v == JsonToken.VALUE_STRING ? p.getText() : "";
                default -> p.skipChildren();
              }
            }
          }
          default -> p.skipChildren();
        }
      }
    }
    Map<String, Object> annotations = JsonTree.object(JsonTree.get(spec, "annotations"));
    String containerName = annotation(annotations, "io.kubernetes.cri.container-name", "io.kubernetes.container.name");
    String pod = annotation(annotations, "io.kubernetes.cri.sandbox-name", "io.kubernetes.pod.name");
    String ns = annotation(annotations, "io.kubernetes.cri.sandbox-namespace", "io.kubernetes.pod.namespace");
    String image = annotation(annotations, "io.kubernetes.cri.image-name", "io.kubernetes.cri-o.ImageName");
    String type = annotation(annotations, "io.kubernetes.cri.container-type", "io.kubernetes.cri-o.ContainerType");
    boolean pause = containerId.equals(sandboxId) || "sandbox".equals(type);
    Object resources = JsonTree.path(spec, "linux", "resources");
    return new ContainerFacts(
        containerId,
        sandboxId,
        status == null ? "" : status,
        createdAt,
        pause,
        containerName,
        pod != null ? pod : podName,
        ns != null ? ns : namespace,
        image == null ? "" : image,
        JsonTree.string(JsonTree.path(spec, "linux", "cgroupsPath")),
        JsonTree.longValue(JsonTree.path(resources, "memory", "limit")),
        JsonTree.longValue(JsonTree.path(resources, "cpu", "shares")),
        JsonTree.longValue(JsonTree.path(resources, "cpu", "quota")),
        JsonTree.longValue(JsonTree.path(resources, "cpu", "period")),
        pid,
        cgroup);
  }

  private static String annotation(Map<String, Object> annotations, String containerd, String crio) {
    if (annotations == null) {
      return null;
    }
    String v = JsonTree.string(annotations.get(containerd));
    return v != null ? v : JsonTree.string(annotations.get(crio));
  }

  private static Instant time(String text) {
    try {
      return OffsetDateTime.parse(text).toInstant();
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
