package dev.sandboxmetrics.e2e;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.TreeMap;

/**
 * Reads the sandboxes in a runtime root the way the runsc contract defines them (state files named
 * {@code <containerID>_sandbox:<sandboxID>.state}, JSON), independently of the server: the tests compare
 * what Prometheus stored with what the sandboxes registered, not with what our own code believes.
 */
final class StateFiles {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** One sandbox as its root container's state file describes it. */
  record Sandbox(String id, String metricServerAddress, String podName, String namespace) {}

  private StateFiles() {}

  /**
   * The sandboxes in {@code root} whose registered metric-server address, with {@code %RUNTIME_ROOT%}
   * replaced by the root, equals {@code address} (the same replacement made). Files being written
   * (not yet valid JSON) are left out; the caller polls.
   */
  static Map<String, Sandbox> sandboxesFor(Path root, String address) throws IOException {
    String wanted = address.replace("%RUNTIME_ROOT%", root.toString());
    Map<String, Sandbox> found = new TreeMap<>();
    try (DirectoryStream<Path> files = Files.newDirectoryStream(root, "*_sandbox:*.state")) {
      for (Path file : files) {
        String name = file.getFileName().toString();
        String stem = name.substring(0, name.length() - ".state".length());
        String containerId = stem.substring(0, stem.indexOf("_sandbox:"));
        String sandboxId = stem.substring(stem.indexOf("_sandbox:") + "_sandbox:".length());
        if (!containerId.equals(sandboxId)) {
          continue; // not the root container
        }
        JsonNode sandbox;
        try {
          sandbox = JSON.readTree(file.toFile()).path("sandbox");
        } catch (IOException e) {
          continue; // being written right now
        }
        String registered = sandbox.path("metricServerAddress").asText("").replace("%RUNTIME_ROOT%", root.toString());
        if (registered.equals(wanted)) {
          found.put(sandboxId, new Sandbox(sandboxId, registered, sandbox.path("podName").asText(""),
              sandbox.path("namespace").asText("")));
        }
      }
    }
    return found;
  }
}
