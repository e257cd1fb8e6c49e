package dev.sandboxmetrics.e2e;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * The packaged executable, cli/target/sandbox-metrics.jar, run as users run it: {@code java -jar} with
 * runsc's global flags before the subcommand. The reactor packages the cli module before this one, so the
 * jar exists when these tests run under {@code mvn verify}.
 */
final class SandboxMetricsJar {
  private final Path jar;

  private SandboxMetricsJar(Path jar) {
    this.jar = jar;
  }

  /** @throws AssertionError when the jar has not been built */
  static SandboxMetricsJar locate() {
    Path jar = RepoRoot.path().resolve("cli/target/sandbox-metrics.jar");
    if (!Files.isRegularFile(jar)) {
      throw new AssertionError(jar + " does not exist. Run ./run-tests (mvn verify packages the cli module"
          + " before the end-to-end tests run).");
    }
    return new SandboxMetricsJar(jar);
  }

  /**
   * The command line for {@code sandbox-metrics ARGS...}. The JVM options only make the test processes
   * cheaper on a small shared machine (one GC thread, no optimising compiler); they change no behaviour.
   */
  List<String> command(String... args) {
    return command(List.of(), args);
  }

  /** As {@link #command(String...)}, with more JVM options (e.g. a system property a test sets). */
  List<String> command(List<String> jvmOptions, String... args) {
    List<String> command = new ArrayList<>();
    command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
    command.add("-XX:+UseSerialGC");
    command.add("-XX:TieredStopAtLevel=1");
    command.addAll(jvmOptions);
    command.add("-jar");
    command.add(jar.toString());
    command.addAll(Arrays.asList(args));
    return command;
  }
}
