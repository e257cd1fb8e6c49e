package dev.sandboxmetrics.metricserver.transport;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.nio.file.Path;

/**
 * Where the metric server listens, parsed from the {@code --metric-server} string the way runsc reads it: an
 * absolute path is a Unix domain socket, anything else is a TCP {@code host:port} ({@code :port} meaning all
 * interfaces). The original string is kept, because sandboxes name their metric server by that exact string.
 *
 * <p>Used by the server at start-up and by anything that has to tell a user where the server is.
 */
public sealed interface ListenAddress permits ListenAddress.Tcp, ListenAddress.Unix {

  /** The address as the user wrote it (after {@code %RUNTIME_ROOT%} replacement). */
  String text();

  /** A TCP address. {@code host} is empty for all interfaces; {@code port} 0 picks a free port. */
  record Tcp(String text, String host, int port) implements ListenAddress {
    public boolean allInterfaces() {
      return host.isEmpty();
    }

    /** Resolves the host; the wildcard address when {@link #allInterfaces()}. */
    public InetSocketAddress resolve() throws UnknownHostException {
      if (allInterfaces()) {
        return new InetSocketAddress(port);
      }
      return new InetSocketAddress(InetAddress.getByName(host), port);
    }
  }

  /** A Unix domain socket at an absolute path. */
  record Unix(String text, Path path) implements ListenAddress {}

  /**
   * Parses an address.
   *
   * @throws IllegalArgumentException with a message a user can act on
   */
  static ListenAddress parse(String text) {
    if (text == null || text.isEmpty()) {
      throw new IllegalArgumentException("no metric server address given (--metric-server)");
    }
    if (text.startsWith("/")) {
      return new Unix(text, Path.of(text));
    }
    int colon = text.lastIndexOf(':');
    if (colon < 0) {
      throw new IllegalArgumentException(
          "invalid metric server address \"" + text + "\": expected host:port, :port or an absolute Unix socket path");
    }
    String host = text.substring(0, colon);
    String portText = text.substring(colon + 1);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    } else if (host.indexOf(':') >= 0) {
      throw new IllegalArgumentException(
          "invalid metric server address \"" + text + "\": an IPv6 host must be in brackets, as in [::1]:1337");
    }
    int port;
    try {
      port = Integer.parseInt(portText);
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 0 || port > 65535) {
      throw new IllegalArgumentException(
          "invalid metric server address \"" + text + "\": port \"" + portText + "\" is not a number from 0 to 65535");
    }
    return new Tcp(text, host, port);
  }
}
