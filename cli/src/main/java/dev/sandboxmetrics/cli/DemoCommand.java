package dev.sandboxmetrics.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code sandbox-metrics demo}. TODO: implemented by its issue. */
@Command(name = "demo", mixinStandardHelpOptions = true, description = "Start simulated sandboxes and a metric server to try.")
final class DemoCommand implements Callable<Integer> {
  @ParentCommand Main global;

  @Override
  public Integer call() {
    System.err.println("sandbox-metrics demo: not implemented yet");
    return 1;
  }
}
