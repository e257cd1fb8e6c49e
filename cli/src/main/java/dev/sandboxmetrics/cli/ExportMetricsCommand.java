package dev.sandboxmetrics.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.ParentCommand;

/** {@code sandbox-metrics export-metrics}. TODO: implemented by its issue. */
@Command(name = "export-metrics", mixinStandardHelpOptions = true, description = "Print one sandbox's metrics once.")
final class ExportMetricsCommand implements Callable<Integer> {
  @ParentCommand Main global;

  @Override
  public Integer call() {
    System.err.println("sandbox-metrics export-metrics: not implemented yet");
    return 1;
  }
}
