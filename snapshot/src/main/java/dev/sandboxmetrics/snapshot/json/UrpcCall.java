package dev.sandboxmetrics.snapshot.json;

/**
 * The uRPC methods our control-socket clients call (docs/runsc-protocol.md section 3); {@link RunscJson#writeCall}
 * encodes a call to one of them.
 */
public final class UrpcCall {
  public static final String EXPORT = "Metrics.Export";

  private UrpcCall() {}
}
