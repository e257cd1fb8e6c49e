package dev.sandboxmetrics.simulator.urpc;

import java.util.Objects;
import java.util.function.Supplier;

/**
 * What a sandbox does with one call: reply (and maybe hang up after), stream a huge reply, say nothing,
 * hang up, or decide later. Healthy sandboxes only ever {@link #reply}; the rest are the fault modes a
 * client must survive. Built by a {@link ControlHandler}, carried out by the event loop.
 */
public final class Answer {
  enum Kind {
    REPLY,
    STREAM,
    STALL,
    CLOSE,
    LATER
  }

  private static final Answer STALL = new Answer(Kind.STALL, null, false, null, 0, null);
  private static final Answer CLOSE = new Answer(Kind.CLOSE, null, true, null, 0, null);

  /** Bytes written {@link #trailingDelayNanos} after the reply, if the connection is idle then; or null. */
  byte[] trailing;
  long trailingDelayNanos;

  final Kind kind;
  final byte[] bytes;
  final boolean closeAfter;
  final ReplyStream stream;
  final long delayNanos;
  final Supplier<Answer> later;

  private Answer(
      Kind kind,
      byte[] bytes,
      boolean closeAfter,
      ReplyStream stream,
      long delayNanos,
      Supplier<Answer> later) {
    this.kind = kind;
    this.bytes = bytes;
    this.closeAfter = closeAfter;
    this.stream = stream;
    this.delayNanos = delayNanos;
    this.later = later;
  }

  /** Writes these bytes; the connection stays open for further calls. */
  public static Answer reply(byte[] bytes) {
    return new Answer(Kind.REPLY, Objects.requireNonNull(bytes), false, null, 0, null);
  }

  /** Writes these bytes, then closes the connection (a truncated reply, garbage before a crash). */
  public static Answer replyThenClose(byte[] bytes) {
    return new Answer(Kind.REPLY, Objects.requireNonNull(bytes), true, null, 0, null);
  }

  /**
   * Writes these bytes, then, {@code delayNanos} later and if the connection is idle then, {@code extra}:
   * bytes nobody asked for, between calls.
   */
  public static Answer replyThenLater(byte[] bytes, long delayNanos, byte[] extra) {
    Answer a = new Answer(Kind.REPLY, Objects.requireNonNull(bytes), false, null, 0, null);
    a.trailing = Objects.requireNonNull(extra);
    a.trailingDelayNanos = Math.max(0, delayNanos);
    return a;
  }

  /** Streams a reply as the socket drains; the connection stays open after it. */
  public static Answer stream(ReplyStream stream) {
    return new Answer(Kind.STREAM, null, false, Objects.requireNonNull(stream), 0, null);
  }

  /** Never answers: the connection stays open, further calls on it are read and ignored. */
  public static Answer stall() {
    return STALL;
  }

  /** Hangs up without a word, as a sandbox does when Go cannot encode its reply. */
  public static Answer close() {
    return CLOSE;
  }

  /** Waits, then asks {@code next} what to do (called on the event loop thread, after the delay). */
  public static Answer after(long delayNanos, Supplier<Answer> next) {
    return new Answer(Kind.LATER, null, false, null, Math.max(0, delayNanos), Objects.requireNonNull(next));
  }
}
