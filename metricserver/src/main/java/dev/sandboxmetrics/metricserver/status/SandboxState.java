package dev.sandboxmetrics.metricserver.status;

/**
 * What the server makes of one sandbox, as the status page ({@code /sandboxes}) shows it. The words are
 * what a person reads (and what the JSON gives, for scripts); {@link #isTrouble()} marks the rows the page
 * highlights.
 */
public enum SandboxState {
  /** Served, and its last query (if any yet) gave verified data. */
  SERVED("served", false),
  /** Served and running, but its last query gave no data: why is in the row's error. */
  BROKEN("broken", true),
  /** Its process is gone (stopped, or killed with its state file left behind). */
  NOT_RUNNING("not running", false),
  /** A state file is locked: runsc is creating or changing the sandbox (or a runsc command hangs). */
  LOCKED("locked", false),
  /** Its state files cannot be read, are corrupt, or do not form a sandbox. */
  UNREADABLE_STATE_FILE("unreadable state file", true),
  /** It registered with another metric server address. */
  OTHER_METRIC_SERVER("other metric server", false),
  /** It asked for no metric server, or names this one but registered no metrics. */
  NO_METRICS("no metrics", false);

  private final String words;
  private final boolean trouble;

  SandboxState(String words, boolean trouble) {
    this.words = words;
    this.trouble = trouble;
  }

  /** The state in plain words, e.g. "not running". */
  public String words() {
    return words;
  }

  /** Whether an operator should look at it: the page highlights these rows. */
  public boolean isTrouble() {
    return trouble;
  }
}
