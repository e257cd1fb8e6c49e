package dev.sandboxmetrics.snapshot.verify;

import dev.sandboxmetrics.snapshot.Registration;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.time.Instant;

/**
 * Checks a sandbox's snapshots against its trusted registration and against the last snapshot it accepted
 * (runsc-compat.md section 5). One verifier per sandbox incarnation; a rejected snapshot leaves its memory
 * unchanged. Thread-safe: calls are serialized.
 *
 * <p>TODO(verify): implementation arrives with the foundation issue; the signatures are the contract.
 */
public final class Verifier {
  private Verifier() {}

  /** Validates the registration and returns a verifier with no memory yet. */
  public static Verifier forRegistration(Registration registration) throws InvalidRegistrationException {
    throw new UnsupportedOperationException("not yet");
  }

  /** Accepts the snapshot and remembers its values, or throws and remembers nothing. */
  public void verify(Snapshot snapshot, Instant now) throws VerificationException {
    throw new UnsupportedOperationException("not yet");
  }
}
