package dev.sandboxmetrics.simulator;

import dev.sandboxmetrics.simulator.urpc.ReplyStream;
import java.nio.ByteBuffer;

/**
 * A well-formed export reply of a given size or more, produced as the socket drains instead of built in
 * memory: a prefix, the same encoded data point over and over, and the closing brackets. A client must give
 * up on it long before the end (runsc's own reads are unbounded; ours must not be).
 */
final class OversizedReply implements ReplyStream {
  private final byte[] prefix;
  private final byte[] element;
  private final byte[] suffix;
  private long elementsLeft;
  private int phase; // 0 prefix, 1 elements, 2 suffix, 3 done
  private int offset;
  private boolean separatorPending;

  OversizedReply(byte[] prefix, byte[] element, byte[] suffix, long targetBytes) {
    this.prefix = prefix;
    this.element = element;
    this.suffix = suffix;
    long room = Math.max(0, targetBytes - prefix.length - suffix.length);
    this.elementsLeft = Math.max(1, (room + element.length) / (element.length + 1));
  }

  @Override
  public boolean fill(ByteBuffer buffer) {
    boolean added = false;
    while (buffer.hasRemaining() && phase < 3) {
      byte[] current;
      if (phase == 0) {
        current = prefix;
      } else if (phase == 1) {
        if (separatorPending) {
          buffer.put((byte) ',');
          separatorPending = false;
          added = true;
          continue;
        }
        current = element;
      } else {
        current = suffix;
      }
      int n = Math.min(buffer.remaining(), current.length - offset);
      buffer.put(current, offset, n);
      offset += n;
      added = true;
      if (offset == current.length) {
        offset = 0;
        if (phase == 1) {
          elementsLeft--;
          if (elementsLeft > 0) {
            separatorPending = true;
            continue;
          }
        }
        phase++;
      }
    }
    return added;
  }
}
