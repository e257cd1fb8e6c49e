package dev.sandboxmetrics.simulator.urpc;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.SocketChannel;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One client connection to a sandbox's control socket, handled like runsc's uRPC server handles it: read
 * one call, answer it, then read the next; a client that sends bytes Go could not decode is dropped. Loop
 * thread only.
 */
final class Connection {
  private static final Logger log = LoggerFactory.getLogger(Connection.class);
  private static final int STREAM_CHUNK = 64 * 1024;

  private final Binding binding;
  private final SocketChannel channel;
  private final CallDecoder decoder = new CallDecoder();
  private final byte[] input = new byte[8192];
  private SelectionKey key;

  /** A call is being answered (or ignored, when stalled): no further call is read meanwhile. */
  private boolean busy;
  private boolean stalled;
  private boolean closed;
  private ByteBuffer output;
  private ReplyStream stream;
  private boolean closeAfterReply;
  private boolean writeBlocked;

  Connection(Binding binding, SocketChannel channel) {
    this.binding = binding;
    this.channel = channel;
  }

  void register() throws IOException {
    key = channel.register(binding.loop().selector(), SelectionKey.OP_READ, this);
  }

  void onReady(int readyOps) {
    if ((readyOps & SelectionKey.OP_WRITE) != 0) {
      writeBlocked = false;
      if (flush()) {
        readCalls();
      }
    }
    if (!closed && (readyOps & SelectionKey.OP_READ) != 0) {
      onReadable();
    }
    updateInterest();
  }

  private void onReadable() {
    if (stalled) {
      // Nobody will ever answer; read only to notice when the client gives up.
      discardInput();
      return;
    }
    if (busy) {
      return;
    }
    if (!decoder.needsInput()) {
      readCalls();
      return;
    }
    int n;
    try {
      n = channel.read(ByteBuffer.wrap(input));
    } catch (IOException e) {
      log.debug("read from {} failed", binding.path(), e);
      close();
      return;
    }
    if (n < 0) {
      close();
      return;
    }
    if (n == 0) {
      return;
    }
    try {
      decoder.feed(input, 0, n);
    } catch (CallDecoder.ProtocolException e) {
      close();
      return;
    }
    readCalls();
  }

  /** Answers every complete call already received, until one of them keeps us busy. */
  private void readCalls() {
    while (!closed && !busy) {
      Call call;
      try {
        call = decoder.next();
      } catch (CallDecoder.ProtocolException e) {
        log.debug("dropping connection to {}: {}", binding.path(), e.getMessage());
        close();
        return;
      }
      if (call == null) {
        return;
      }
      answer(binding.handler().handle(call));
    }
  }

  private void answer(Answer a) {
    switch (a.kind) {
      case REPLY:
        busy = true;
        output = ByteBuffer.wrap(a.bytes);
        closeAfterReply = a.closeAfter;
        if (a.trailing != null) {
          byte[] extra = a.trailing;
          binding.loop().schedule(a.trailingDelayNanos, () -> writeWhileIdle(extra));
        }
        flush();
        break;
      case STREAM:
        busy = true;
        stream = a.stream;
        output = ByteBuffer.allocate(STREAM_CHUNK).flip();
        closeAfterReply = false;
        flush();
        break;
      case STALL:
        busy = true;
        stalled = true;
        break;
      case CLOSE:
        close();
        break;
      case LATER:
        busy = true;
        binding
            .loop()
            .schedule(
                a.delayNanos,
                () -> {
                  if (closed) {
                    return;
                  }
                  try {
                    answer(a.later.get());
                    if (!busy) {
                      readCalls();
                    }
                    updateInterest();
                  } catch (RuntimeException e) {
                    // Otherwise this connection would stay busy, and silent, forever.
                    log.error("answering a delayed call on {} failed; closing the connection", binding.path(), e);
                    close();
                  }
                });
        break;
    }
  }

  /** Writes what the socket takes; true when the reply is complete (and the connection free again). */
  private boolean flush() {
    try {
      while (true) {
        if (output.hasRemaining()) {
          channel.write(output);
          if (output.hasRemaining()) {
            writeBlocked = true;
            return false;
          }
        } else if (stream != null) {
          output.clear();
          boolean more = stream.fill(output);
          output.flip();
          if (!more) {
            stream = null;
          }
        } else {
          break;
        }
      }
    } catch (IOException e) {
      // The client went away mid-reply (often on purpose: it stopped reading an oversized one).
      log.debug("write to {} failed", binding.path(), e);
      close();
      return false;
    }
    output = null;
    busy = false;
    if (closeAfterReply) {
      close();
      return false;
    }
    return true;
  }

  /** Writes bytes nobody asked for, if no reply is being written (a fault mode); best effort. */
  private void writeWhileIdle(byte[] extra) {
    if (closed || busy) {
      return;
    }
    try {
      channel.write(ByteBuffer.wrap(extra));
    } catch (IOException e) {
      log.debug("write to {} failed", binding.path(), e);
      close();
    }
  }

  private void discardInput() {
    ByteBuffer scratch = ByteBuffer.wrap(input);
    try {
      while (true) {
        scratch.clear();
        int n = channel.read(scratch);
        if (n < 0) {
          close();
          return;
        }
        if (n == 0) {
          return;
        }
      }
    } catch (IOException e) {
      close();
    }
  }

  private void updateInterest() {
    if (closed || !key.isValid()) {
      return;
    }
    int ops = 0;
    if (writeBlocked) {
      ops |= SelectionKey.OP_WRITE;
    }
    if (!busy || stalled) {
      ops |= SelectionKey.OP_READ;
    }
    key.interestOps(ops);
  }

  void close() {
    if (closed) {
      return;
    }
    closed = true;
    stream = null;
    output = null;
    if (key != null) {
      key.cancel();
    }
    try {
      channel.close();
    } catch (IOException e) {
      log.debug("close", e);
    }
    binding.removed(this);
  }
}
