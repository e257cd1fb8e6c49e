package dev.sandboxmetrics.simulator.urpc;

import java.nio.ByteBuffer;

/**
 * A reply too large to build in memory (the oversized-reply fault sends 100 MB and more), produced piece by
 * piece as the client's socket drains. Called on an event loop thread; must not block.
 */
public interface ReplyStream {
  /**
   * Puts the next bytes into {@code buffer} (in write mode, with room left).
   *
   * @return false when the reply is complete and nothing was added
   */
  boolean fill(ByteBuffer buffer);
}
