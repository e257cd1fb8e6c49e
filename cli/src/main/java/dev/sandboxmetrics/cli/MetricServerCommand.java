package dev.sandboxmetrics.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code sandbox-metrics metric-server}. TODO: implemented by its issue. */
@Command(name = "metric-server", mixinStandardHelpOptions = true, description = "Serve all sandboxes' metrics over HTTP.")
final class MetricServerCommand implements Callable<Integer> {
  @ParentCommand Main global;

  @Override
  public Integer call() {
    System.err.println("sandbox-metrics metric-server: not implemented yet");
    return 1;
  }
}
