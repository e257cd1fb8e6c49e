package dev.sandboxmetrics.cli;

/** Entry point of the sandbox-metrics executable. TODO(cli): picocli commands arrive with the CLI issue. */
public final class Main {
  private Main() {}

  public static void main(String[] args) {
    System.err.println("sandbox-metrics: not yet built");
    System.exit(1);
  }
}
