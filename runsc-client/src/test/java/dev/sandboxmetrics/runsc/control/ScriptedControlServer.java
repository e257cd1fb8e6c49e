package dev.sandboxmetrics.runsc.control;

import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

/**
 * A control socket server for tests of the client: accepts connections on a real Unix socket and hands
 * each to a script that decides what the "sandbox" does (reply, stall, close, send garbage...). The
 * scripts run on one thread, one connection at a time; {@link #requests} records what the client sent.
 */
final class ScriptedControlServer implements AutoCloseable {
  interface Script {
    void serve(ScriptedControlServer server, SocketChannel connection) throws Exception;
  }

  final List<String> requests = new CopyOnWriteArrayList<>();
  private final Path socket;
  private final ServerSocketChannel server;
  private final Thread thread;

  private ScriptedControlServer(Path socket, Path bindAt, Script script) throws IOException {
    this.socket = socket;
    this.server = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
    server.bind(UnixDomainSocketAddress.of(bindAt));
    if (!bindAt.equals(socket)) {
      // A path too long for bind(2): bind at a short one and move the socket file; the inode is what
      // a connect finds.
      Files.move(bindAt, socket);
    }
    this.thread = new Thread(() -> {
      while (server.isOpen()) {
        try (SocketChannel c = server.accept()) {
          script.serve(this, c);
        } catch (Exception e) {
          // The client went away or the test is over: wait for the next connection.
        }
      }
    }, "scripted-control-server");
    thread.setDaemon(true);
    thread.start();
  }

  static ScriptedControlServer start(Path socket, Script script) throws IOException {
    return new ScriptedControlServer(socket, socket, script);
  }

  /** Serves at a path of any length, binding first at {@code shortPath}. */
  static ScriptedControlServer startVia(Path shortPath, Path socket, Script script) throws IOException {
    return new ScriptedControlServer(socket, shortPath, script);
  }

  /** Reads one complete call (a JSON object; calls are small and flat enough to count braces). */
  String readCall(SocketChannel c) throws IOException {
    StringBuilder b = new StringBuilder();
    ByteBuffer buf = ByteBuffer.allocate(1);
    int depth = 0;
    boolean started = false;
    while (!started || depth > 0) {
      buf.clear();
      if (c.read(buf) < 0) {
        throw new IOException("client closed");
      }
      char ch = (char) buf.get(0);
      b.append(ch);
      if (ch == '{') {
        depth++;
        started = true;
      } else if (ch == '}') {
        depth--;
      }
    }
    requests.add(b.toString());
    return b.toString();
  }

  static void send(SocketChannel c, byte[] bytes) throws IOException {
    ByteBuffer buf = ByteBuffer.wrap(bytes);
    while (buf.hasRemaining()) {
      c.write(buf);
    }
  }

  static void send(SocketChannel c, String text) throws IOException {
    send(c, text.getBytes(StandardCharsets.UTF_8));
  }

  @Override
  public void close() throws IOException {
    server.close();
    thread.interrupt();
    Files.deleteIfExists(socket);
  }
}
