package dev.sandboxmetrics.metricserver.http;

import java.util.Set;

/**
 * Who may hold a connection to the HTTP server and how many may: the connection bound
 * ({@code --max-connections}) and, on Unix sockets, the caller allow-list by the peer's credentials
 * ({@code --allow-peer-uid}, {@code --allow-peer-gid}), plus the socket file's mode ({@code --socket-mode}).
 * Built from the options by the metric server; read by {@link HttpServer} and the socket-file code.
 *
 * @param maxConnections most client connections open at once; beyond it the longest-idle one is closed
 * @param socketMode permission bits given to a Unix socket file after binding (runsc: 0777)
 * @param allowPeerUids callers on a Unix socket whose uid is one of these are served
 * @param allowPeerGids callers on a Unix socket whose primary gid is one of these are served; when both sets
 *     are empty every caller is served
 */
public record ConnectionPolicy(int maxConnections, int socketMode, Set<Integer> allowPeerUids, Set<Integer> allowPeerGids) {
  /**
   * Far above what a node's scrapers need (Prometheus keeps one connection per target), and far below the
   * usual descriptor limits (the JVM raises its soft limit to the hard limit, typically 524288 or more), so
   * idle connections can never take the descriptors that sandboxes and the root directory need. The server
   * lowers it further when the process's own limit is small (see {@link HttpServer}).
   */
  public static final int DEFAULT_MAX_CONNECTIONS = 1000;

  /** runsc makes its socket file world-accessible; access is then governed by the directory. */
  public static final int DEFAULT_SOCKET_MODE = 0777;

  public static final ConnectionPolicy DEFAULT =
      new ConnectionPolicy(DEFAULT_MAX_CONNECTIONS, DEFAULT_SOCKET_MODE, Set.of(), Set.of());

  public ConnectionPolicy {
    if (maxConnections < 1) {
      throw new IllegalArgumentException("the connection limit must be at least 1, got " + maxConnections);
    }
    if ((socketMode & ~0777) != 0) {
      throw new IllegalArgumentException("a socket mode has only permission bits (0 to 0777), got " + Integer.toOctalString(socketMode));
    }
    allowPeerUids = Set.copyOf(allowPeerUids);
    allowPeerGids = Set.copyOf(allowPeerGids);
  }

  /** True when callers on Unix sockets are checked against an allow-list. */
  public boolean checksPeers() {
    return !allowPeerUids.isEmpty() || !allowPeerGids.isEmpty();
  }

  /** True when a caller with these credentials may talk to us. */
  public boolean allows(int uid, int gid) {
    return !checksPeers() || allowPeerUids.contains(uid) || allowPeerGids.contains(gid);
  }

  public ConnectionPolicy withMaxConnections(int v) {
    return new ConnectionPolicy(v, socketMode, allowPeerUids, allowPeerGids);
  }

  public ConnectionPolicy withSocketMode(int v) {
    return new ConnectionPolicy(maxConnections, v, allowPeerUids, allowPeerGids);
  }

  public ConnectionPolicy withAllowedPeers(Set<Integer> uids, Set<Integer> gids) {
    return new ConnectionPolicy(maxConnections, socketMode, uids, gids);
  }
}
