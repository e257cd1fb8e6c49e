package dev.sandboxmetrics.metricserver.testing;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.zip.GZIPInputStream;

/**
 * A minimal HTTP/1.1 client over TCP or a Unix socket, for tests: writes requests as given and reads responses
 * with either a Content-Length or a chunked body, on one connection (keep-alive) or several. The JDK's
 * HttpClient cannot talk to Unix sockets, and tests need to see exact status codes, headers and gzip bytes.
 */
public final class RawHttp implements AutoCloseable {
  /**
   * A response as it came off the wire; {@link #text()} undoes gzip. {@code chunkSizes}: the size of each
   * chunk of a chunked body, in order (empty for any other body).
   */
  public record Response(int status, Map<String, String> headers, byte[] body, List<Integer> chunkSizes) {
    public String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }

    public String text() {
      try {
        byte[] b = body;
        if ("gzip".equalsIgnoreCase(header("content-encoding"))) {
          b = new GZIPInputStream(new java.io.ByteArrayInputStream(body)).readAllBytes();
        }
        return new String(b, StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new IllegalStateException("bad gzip body", e);
      }
    }
  }

  private final SocketChannel channel;
  private final InputStream in;
  private final OutputStream out;

  private RawHttp(SocketChannel channel) {
    this.channel = channel;
    this.in = new java.io.BufferedInputStream(Channels.newInputStream(channel));
    this.out = Channels.newOutputStream(channel);
  }

  public static RawHttp connect(SocketAddress address) throws IOException {
    SocketChannel ch =
        address instanceof UnixDomainSocketAddress
            ? SocketChannel.open(StandardProtocolFamily.UNIX)
            : SocketChannel.open();
    ch.connect(address);
    return new RawHttp(ch);
  }

  public static RawHttp tcp(InetSocketAddress address) throws IOException {
    return connect(address);
  }

  public static RawHttp unix(Path socket) throws IOException {
    return connect(UnixDomainSocketAddress.of(socket));
  }

  /** One GET on a fresh connection. */
  public static Response get(SocketAddress address, String target, String... headerLines) throws IOException {
    try (RawHttp c = connect(address)) {
      return c.request("GET", target, null, headerLines);
    }
  }

  /** Sends a request (Host header added) and reads its response. */
  public Response request(String method, String target, String body, String... headerLines) throws IOException {
    send(method, target, body, headerLines);
    return read();
  }

  public void send(String method, String target, String body, String... headerLines) throws IOException {
    StringBuilder r = new StringBuilder();
    r.append(method).append(' ').append(target).append(" HTTP/1.1\r\nHost: test\r\n");
    for (String h : headerLines) {
      r.append(h).append("\r\n");
    }
    byte[] b = body == null ? new byte[0] : body.getBytes(StandardCharsets.UTF_8);
    if (body != null) {
      r.append("Content-Length: ").append(b.length).append("\r\n");
    }
    r.append("\r\n");
    sendRaw(r.toString().getBytes(StandardCharsets.UTF_8));
    if (b.length > 0) {
      sendRaw(b);
    }
  }

  public void sendRaw(byte[] bytes) throws IOException {
    out.write(bytes);
    out.flush();
  }

  /** Reads one response; throws EOFException-like IOException when the server closed the connection. */
  public Response read() throws IOException {
    String statusLine = line();
    if (statusLine == null) {
      throw new IOException("connection closed before a response");
    }
    int status = Integer.parseInt(statusLine.split(" ")[1]);
    Map<String, String> headers = new TreeMap<>();
    String l;
    while ((l = line()) != null && !l.isEmpty()) {
      int colon = l.indexOf(':');
      headers.put(l.substring(0, colon).trim().toLowerCase(Locale.ROOT), l.substring(colon + 1).trim());
    }
    ByteArrayOutputStream body = new ByteArrayOutputStream();
    List<Integer> chunkSizes = new ArrayList<>();
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      while (true) {
        String size = line();
        int n = Integer.parseInt(size.split(";")[0].trim(), 16);
        if (n == 0) {
          while ((l = line()) != null && !l.isEmpty()) {
            // trailers
          }
          break;
        }
        body.write(in.readNBytes(n));
        chunkSizes.add(n);
        line();
      }
    } else if (headers.containsKey("content-length")) {
      body.write(in.readNBytes(Integer.parseInt(headers.get("content-length"))));
    } else {
      body.write(in.readAllBytes());
    }
    return new Response(status, headers, body.toByteArray(), List.copyOf(chunkSizes));
  }

  /** True when the server closed the connection (reading gives end of stream). */
  public boolean closedByServer() throws IOException {
    return in.read() < 0;
  }

  private String line() throws IOException {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    int c;
    while ((c = in.read()) >= 0) {
      if (c == '\n') {
        String s = b.toString(StandardCharsets.ISO_8859_1);
        return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
      }
      b.write(c);
    }
    return b.size() == 0 ? null : b.toString(StandardCharsets.ISO_8859_1);
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }
}
