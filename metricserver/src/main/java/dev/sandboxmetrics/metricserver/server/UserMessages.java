package dev.sandboxmetrics.metricserver.server;

import java.net.InetSocketAddress;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Says in plain words why a file or an address could not be used, for the one-line failures a user reads
 * at start-up ({@code sandbox-metrics: <message>}): Java's exception names and Netty's
 * {@code bind(..) failed with error(-98)} mean nothing to an operator. Used by {@link MetricServer}, the
 * HTTP listeners and the command line ({@code export-metrics}).
 */
public final class UserMessages {
  private UserMessages() {}

  /**
   * Why a file operation failed, as a short phrase about the file ("it does not exist", "permission
   * denied", ...); the exception's own text when it is none of the usual ones.
   */
  public static String fileReason(Throwable e) {
    if (e instanceof NoSuchFileException) {
      return "it does not exist";
    }
    if (e instanceof NotDirectoryException) {
      return "it is not a directory";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    if (e instanceof FileSystemException fs && fs.getReason() != null) {
      return lowerFirst(fs.getReason()); // e.g. "Not a directory" for a path through a regular file
    }
    String text = e.getMessage();
    return text == null || text.isBlank() ? e.getClass().getSimpleName() : text;
  }

  /**
   * Why a path could not be created (the PID file, a socket): its directory is what is usually wrong.
   */
  public static String createReason(Throwable e, Path path) {
    Path dir = path.toAbsolutePath().getParent();
    String text = String.valueOf(e.getMessage());
    if (e instanceof NoSuchFileException || text.contains("No such file or directory")) {
      return "its directory " + dir + " does not exist (create it first)";
    }
    if (text.contains("Not a directory")) {
      return "a part of its directory " + dir + " is not a directory";
    }
    if (e instanceof AccessDeniedException || text.contains("Permission denied")) {
      return "permission denied (the server's user may not write in " + dir + ")";
    }
    return fileReason(e);
  }

  /** Why listening on an address failed, from the bind error of Netty's native transport or the JDK's. */
  public static String bindReason(Throwable e) {
    String text = String.valueOf(e.getMessage());
    String lower = text.toLowerCase(Locale.ROOT);
    if (lower.contains("address already in use") || lower.contains("error(-98)")) {
      return "address in use (another process listens there; stop it or choose another address)";
    }
    if (lower.contains("cannot assign requested address") || lower.contains("error(-99)")) {
      return "no network interface of this machine has that address";
    }
    if (lower.contains("permission denied") || lower.contains("error(-13)")) {
      return "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE; a socket needs a "
          + "writable directory)";
    }
    if (lower.contains("no such file or directory") || lower.contains("error(-2)")) {
      return "its directory does not exist (create it first)";
    }
    // Strip Netty's "bind(..) failed with error(-N): " prefix, keep the operating system's words.
    int colon = text.indexOf("): ");
    return colon >= 0 && text.startsWith("bind(") ? lowerFirst(text.substring(colon + 3)) : text;
  }

  /** {@code host:port} as a user writes it ({@code InetSocketAddress.toString} gives {@code host/ip:port}). */
  public static String hostPort(InetSocketAddress a) {
    String host = a.getHostString();
    return (host.contains(":") ? "[" + host + "]" : host) + ":" + a.getPort();
  }

  private static String lowerFirst(String s) {
    return s.isEmpty() ? s : Character.toLowerCase(s.charAt(0)) + s.substring(1);
  }
}
