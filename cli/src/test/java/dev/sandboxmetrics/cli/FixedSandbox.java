package dev.sandboxmetrics.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A sandbox whose every detail is fixed, for outputs that can be compared byte for byte: a state file
 * written here (with the creation time, pod and extra fields a test chooses; the test JVM stands in as the
 * sandbox process, so it counts as running) and a control socket that answers every call with the same
 * bytes. The simulator covers living sandboxes; this covers exact ones.
 */
final class FixedSandbox implements AutoCloseable {
  private static final ObjectMapper MAPPER = new ObjectMapper();

  private final Path stateFile;
  private final Path lockFile;
  private final Path socket;
  private final ServerSocketChannel server;
  private final Thread thread;

  private FixedSandbox(Path root, String id, String createdAt, String podName, String namespace,
      Map<String, Object> extraFields, byte[] reply) throws IOException {
    socket = root.resolve("runsc-" + id + ".sock");
    Map<String, Object> sandbox = new LinkedHashMap<>();
    sandbox.put("id", id);
    sandbox.put("pid", ProcessHandle.current().pid());
    sandbox.put("podName", podName);
    sandbox.put("namespace", namespace);
    sandbox.put("controlSocketPath", socket.toString());
    sandbox.put("metricServerAddress", "");
    sandbox.put("registeredMetrics", null);
    Map<String, Object> spec = new LinkedHashMap<>();
    spec.put("ociVersion", "1.0.2");
    spec.put("process", Map.of("user", Map.of("uid", 0, "gid", 0)));
    Map<String, Object> top = new LinkedHashMap<>();
    top.put("id", id);
    top.put("spec", spec);
    top.put("createdAt", createdAt);
    top.put("status", "running");
    top.put("sandbox", sandbox);
    top.putAll(extraFields);
    stateFile = root.resolve(id + "_sandbox:" + id + ".state");
    lockFile = root.resolve(id + "_sandbox:" + id + ".lock");
    Files.write(lockFile, new byte[0]);
    Files.write(stateFile, MAPPER.writeValueAsBytes(top));

    server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(socket));
    thread = new Thread(() -> {
      while (server.isOpen()) {
        try (SocketChannel c = server.accept()) {
          readCall(c);
          ByteBuffer b = ByteBuffer.wrap(reply);
          while (b.hasRemaining()) {
            c.write(b);
          }
        } catch (IOException e) {
          // Closed at the end of the test, or the client gave up.
        }
      }
    }, "fixed-sandbox-" + id);
    thread.setDaemon(true);
    thread.start();
  }

  /**
   * @param snapshotJson the {@code snapshot} value of every export reply, runsc JSON
   * @param extraFields added to the state file's top level (unknown fields a newer runsc might write)
   */
  static FixedSandbox start(Path root, String id, String createdAt, String podName, String namespace,
      String snapshotJson, Map<String, Object> extraFields) throws IOException {
    byte[] reply = ("{\"success\":true,\"err\":\"\",\"result\":{\"snapshot\":" + snapshotJson + "}}")
        .getBytes(StandardCharsets.UTF_8);
    return new FixedSandbox(root, id, createdAt, podName, namespace, extraFields, reply);
  }

  Path stateFile() {
    return stateFile;
  }

  private static void readCall(SocketChannel c) throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    int depth = 0;
    boolean started = false;
    while (!started || depth > 0) {
      one.clear();
      if (c.read(one) < 0) {
        throw new IOException("client closed");
      }
      byte b = one.get(0);
      if (b == '{') {
        depth++;
        started = true;
      } else if (b == '}') {
        depth--;
      }
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    thread.interrupt();
    Files.deleteIfExists(socket);
    Files.deleteIfExists(stateFile);
    Files.deleteIfExists(lockFile);
  }
}
