package dev.sandboxmetrics.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code sandbox-metrics simulate}. TODO: implemented by its issue. */
@Command(name = "simulate", mixinStandardHelpOptions = true, description = "Run simulated runsc sandboxes for tests and demos.")
final class SimulateCommand implements Callable<Integer> {
  @ParentCommand Main global;

  @Override
  public Integer call() {
    System.err.println("sandbox-metrics simulate: not implemented yet");
    return 1;
  }
}
