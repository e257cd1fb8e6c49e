package dev.sandboxmetrics.simulator.urpc;

/**
 * The sandbox behind one control socket: decides how to answer each call. Called on an event loop thread,
 * one call at a time per connection, possibly for many connections of the same socket in turn; it must not
 * block (use {@link Answer#after} to wait).
 */
@FunctionalInterface
public interface ControlHandler {
  Answer handle(Call call);
}
