package dev.sandboxmetrics.cli;

/**
 * A subcommand could not do its job for a reason the user can act on. {@link Main} prints the message as
 * one line, {@code sandbox-metrics: <message>}, without a stack trace (unless {@code --debug}), and exits
 * with {@link #exitCode()}: 1 for a runtime failure, 2 for a usage error found after parsing.
 */
public final class CommandFailure extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final int exitCode;

  public CommandFailure(String message) {
    this(message, null);
  }

  public CommandFailure(String message, Throwable cause) {
    this(Main.EXIT_FAILURE, message, cause);
  }

  private CommandFailure(int exitCode, String message, Throwable cause) {
    super(message, cause);
    this.exitCode = exitCode;
  }

  /** A usage error detected after parsing (e.g. an invalid regular expression): exit code 2. */
  public static CommandFailure usage(String message, Throwable cause) {
    return new CommandFailure(Main.EXIT_USAGE, message, cause);
  }

  public int exitCode() {
    return exitCode;
  }
}
