package dev.sandboxmetrics.simulator;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.json.JsonReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.sandboxmetrics.posix.PathHandle;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;

/**
 * The simplest possible runsc control-socket client, written for the tests on purpose without any project
 * code: a blocking Unix socket, calls written as JSON objects, replies read as one JSON value each (Jackson
 * accepting the {@code Infinity} token). Tests run under a JUnit timeout, so blocking reads cannot hang
 * the build.
 */
final class PlainClient implements AutoCloseable {
  static final ObjectMapper JSON =
      new ObjectMapper(JsonFactory.builder().enable(JsonReadFeature.ALLOW_NON_NUMERIC_NUMBERS).build());

  private final SocketChannel channel;
  private final InputStream in;
  private JsonParser parser;

  private PlainClient(SocketChannel channel) {
    this.channel = channel;
    this.in = Channels.newInputStream(channel);
  }

  static PlainClient connect(Path socket) throws IOException {
    SocketChannel ch = SocketChannel.open(StandardProtocolFamily.UNIX);
    if (PathHandle.tooLongForSocket(socket)) {
      try (PathHandle h = PathHandle.open(socket)) {
        ch.connect(UnixDomainSocketAddress.of(h.procPath()));
      }
    } else {
      ch.connect(UnixDomainSocketAddress.of(socket));
    }
    return new PlainClient(ch);
  }

  /** Sends {@code {"method":M,"arg":{"only_metrics":F}}} and returns the reply. */
  JsonNode export(String onlyMetrics) throws IOException {
    ObjectNode arg = JSON.createObjectNode();
    if (onlyMetrics != null) {
      arg.put("only_metrics", onlyMetrics);
    }
    return call("Metrics.Export", arg);
  }

  JsonNode call(String method, JsonNode arg) throws IOException {
    ObjectNode call = JSON.createObjectNode();
    call.put("method", method);
    call.set("arg", arg);
    send(JSON.writeValueAsString(call));
    return readReply();
  }

  void send(String raw) throws IOException {
    ByteBuffer b = ByteBuffer.wrap(raw.getBytes(StandardCharsets.UTF_8));
    while (b.hasRemaining()) {
      channel.write(b);
    }
  }

  /** Reads one JSON value; replies on one connection follow each other with no separator. */
  JsonNode readReply() throws IOException {
    if (parser == null) {
      parser = JSON.getFactory().createParser(in);
    }
    if (parser.nextToken() == null) {
      throw new IOException("connection closed before a reply");
    }
    return JSON.readTree(parser);
  }

  /** Every byte until the sandbox closes the connection. */
  byte[] readToEnd() throws IOException {
    return in.readAllBytes();
  }

  InputStream input() {
    return in;
  }

  /** True when something (bytes or end of stream) arrives within {@code wait}. */
  boolean answersWithin(Duration wait) throws IOException {
    channel.configureBlocking(false);
    try (Selector selector = Selector.open()) {
      channel.register(selector, SelectionKey.OP_READ);
      return selector.select(Math.max(1, wait.toMillis())) > 0;
    } finally {
      channel.configureBlocking(true);
    }
  }

  static byte[] bytes(InputStream in, int max) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[8192];
    int n;
    while (out.size() < max && (n = in.read(buf)) > 0) {
      out.write(buf, 0, n);
    }
    return out.toByteArray();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
