package dev.sandboxmetrics.runsc.control;

import java.nio.file.Path;

/**
 * A call to a sandbox's control socket failed. {@link #kind()} says how, so that callers can count and
 * report failures by cause; the message names the socket and says what happened in words a user can act
 * on (for example {@code control socket /run/runsc/runsc-s1.sock: no reply within 8000 ms}).
 */
public final class ControlException extends Exception {
  private static final long serialVersionUID = 1L;

  /** How a control call failed. */
  public enum Kind {
    /** The socket file does not exist (the sandbox is gone, or was never started). */
    SOCKET_MISSING,
    /** The socket exists but nobody listens on it (a leftover of a killed sandbox). */
    CONNECTION_REFUSED,
    /** The caller may not connect to the socket. */
    PERMISSION_DENIED,
    /** The deadline passed while connecting, sending or waiting for the reply. */
    TIMED_OUT,
    /** The reply grew past the allowed maximum before it was complete. */
    REPLY_TOO_LARGE,
    /** The reply is not JSON, not the runsc shape, or was cut off. */
    MALFORMED_REPLY,
    /** The sandbox answered with {@code success: false}; the message holds its error text. */
    REMOTE_ERROR,
    /**
     * The sandbox closed the connection without sending anything. A real runsc sandbox does this when it
     * cannot encode its reply (Go's JSON encoder rejects the +Inf of a histogram's last bucket).
     */
    CLOSED_WITHOUT_REPLY,
    /** The sandbox returned a metric that the requested filter excludes: it ignored the filter. */
    FILTER_VIOLATED,
    /** Any other I/O failure (or the calling thread was interrupted). */
    IO_ERROR,
  }

  private final Kind kind;
  private final transient Path socket;
  private final String problem;

  public ControlException(Kind kind, Path socket, String problem) {
    super(message(socket, problem));
    this.kind = kind;
    this.socket = socket;
    this.problem = problem;
  }

  public ControlException(Kind kind, Path socket, String problem, Throwable cause) {
    super(message(socket, problem), cause);
    this.kind = kind;
    this.socket = socket;
    this.problem = problem;
  }

  /** What happened, without the socket's name: for a message that names the sandbox already. */
  public String problem() {
    return problem;
  }

  private static String message(Path socket, String problem) {
    return socket == null ? problem : "control socket " + socket + ": " + problem;
  }

  public Kind kind() {
    return kind;
  }

  /** The socket called (the path as given, before any /proc/self/fd detour); may be null. */
  public Path socket() {
    return socket;
  }
}
