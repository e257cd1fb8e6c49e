package dev.sandboxmetrics.runsc.discovery;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes runsc-shaped state files for tests, with the fields runsc writes and room for odd ones. Defaults: a
 * running root container of its own sandbox, created at a fixed instant, with the current JVM as the
 * sandbox process (so it counts as running), and a lock file beside it as runsc leaves one.
 */
final class StateFileBuilder {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final String containerId;
  private final String sandboxId;
  final Map<String, Object> top = new LinkedHashMap<>();
  final Map<String, Object> spec = new LinkedHashMap<>();
  final Map<String, Object> process = new LinkedHashMap<>();
  final Map<String, Object> annotations = new LinkedHashMap<>();
  final Map<String, Object> sandbox = new LinkedHashMap<>();
  private boolean lockFile = true;

  private StateFileBuilder(String containerId, String sandboxId) {
    this.containerId = containerId;
    this.sandboxId = sandboxId;
    top.put("id", containerId);
    top.put("createdAt", "2023-01-25T15:46:50.469403696-08:00");
    top.put("status", "running");
    spec.put("ociVersion", "1.0.2");
    process.put("user", Map.of("uid", 0, "gid", 0));
    spec.put("process", process);
    spec.put("annotations", annotations);
    top.put("spec", spec);
    sandbox.put("id", sandboxId);
    sandbox.put("pid", ProcessHandle.current().pid());
    sandbox.put("controlSocketPath", "/nonexistent/runsc-" + sandboxId + ".sock");
    sandbox.put("metricServerAddress", "");
    top.put("sandbox", sandbox);
  }

  static StateFileBuilder root(String sandboxId) {
    return new StateFileBuilder(sandboxId, sandboxId);
  }

  static StateFileBuilder container(String containerId, String sandboxId) {
    return new StateFileBuilder(containerId, sandboxId);
  }

  StateFileBuilder createdAt(String rfc3339) {
    top.put("createdAt", rfc3339);
    return this;
  }

  StateFileBuilder status(String status) {
    top.put("status", status);
    return this;
  }

  StateFileBuilder pid(long pid) {
    sandbox.put("pid", pid);
    return this;
  }

  StateFileBuilder pod(String podName, String namespace) {
    sandbox.put("podName", podName);
    sandbox.put("namespace", namespace);
    return this;
  }

  StateFileBuilder annotation(String name, String value) {
    annotations.put(name, value);
    return this;
  }

  /** containerd's annotation marking a sub-container. */
  StateFileBuilder subContainer() {
    return annotation(ContainerState.CONTAINERD_TYPE_ANNOTATION, "container");
  }

  StateFileBuilder uid(long uid) {
    process.put("user", Map.of("uid", uid, "gid", uid));
    return this;
  }

  StateFileBuilder ociVersion(String version) {
    spec.put("ociVersion", version);
    return this;
  }

  StateFileBuilder capabilities(String set, String... caps) {
    @SuppressWarnings("unchecked")
    Map<String, Object> c = (Map<String, Object>) process.computeIfAbsent("capabilities", k -> new LinkedHashMap<>());
    c.put(set, List.of(caps));
    return this;
  }

  StateFileBuilder sandboxField(String name, Object value) {
    sandbox.put(name, value);
    return this;
  }

  StateFileBuilder field(String name, Object value) {
    top.put(name, value);
    return this;
  }

  StateFileBuilder withoutLockFile() {
    lockFile = false;
    return this;
  }

  String json() {
    try {
      return MAPPER.writeValueAsString(top);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Path writeTo(Path root) {
    StateFileName name = new StateFileName(containerId, sandboxId);
    try {
      if (lockFile) {
        Files.write(name.lockPath(root), new byte[0]);
      }
      return Files.writeString(name.statePath(root), json());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  static List<String> names(Path root) throws IOException {
    List<String> out = new ArrayList<>();
    try (var s = Files.list(root)) {
      s.forEach(p -> out.add(p.getFileName().toString()));
    }
    out.sort(null);
    return out;
  }
}
