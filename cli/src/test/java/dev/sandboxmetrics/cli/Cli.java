package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs the real executable the way a user does: the {@code ./sandbox-metrics} launcher at the repository
 * root, which runs the jar Maven just packaged (the build sets SANDBOX_METRICS_NO_BUILD=1 so the launcher
 * never starts a nested build). Output goes to files, so a chatty process cannot block on a full pipe.
 */
final class Cli {
  /** An upper bound for one run, far above what a healthy run takes: only to stop a hung test. */
  static final Duration LIMIT = Duration.ofSeconds(90);

  private Cli() {}

  record Result(int exit, String out, String err, Duration elapsed) {
    List<String> errLines() {
      return err.isEmpty() ? List.of() : Arrays.asList(err.split("\n"));
    }

    /** Lines of stdout that are samples (neither comments nor blank). */
    List<String> samples() {
      return Arrays.stream(out.split("\n")).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
    }

    @Override
    public String toString() {
      return "exit " + exit + " after " + elapsed.toMillis() + " ms\n--- stdout:\n" + out + "\n--- stderr:\n" + err;
    }
  }

  static Path repoRoot() {
    String configured = System.getProperty("sandboxmetrics.repo.root");
    if (configured != null && Files.isExecutable(Paths.get(configured, "sandbox-metrics"))) {
      return Paths.get(configured);
    }
    for (Path dir = Paths.get("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      if (Files.isExecutable(dir.resolve("sandbox-metrics"))) {
        return dir;
      }
    }
    throw new IllegalStateException("no ./sandbox-metrics above " + Paths.get("").toAbsolutePath());
  }

  static Result run(String... args) throws IOException, InterruptedException {
    return run(Map.of(), args);
  }

  static Result run(Map<String, String> env, String... args) throws IOException, InterruptedException {
    List<String> command = new ArrayList<>();
    command.add(repoRoot().resolve("sandbox-metrics").toString());
    command.addAll(List.of(args));
    Path out = Files.createTempFile("sandbox-metrics-out", ".txt");
    Path err = Files.createTempFile("sandbox-metrics-err", ".txt");
    Path cwd = Files.createTempDirectory("sandbox-metrics-cwd");
    try {
      ProcessBuilder pb = new ProcessBuilder(command)
          .directory(cwd.toFile()) // any cwd must work
          .redirectOutput(out.toFile())
          .redirectError(err.toFile())
          .redirectInput(ProcessBuilder.Redirect.from(Path.of("/dev/null").toFile()));
      pb.environment().put("SANDBOX_METRICS_NO_BUILD", "1");
      pb.environment().putAll(env);
      long start = System.nanoTime();
      Process p = pb.start();
      if (!p.waitFor(LIMIT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        p.waitFor(10, TimeUnit.SECONDS);
        throw new AssertionError("sandbox-metrics " + String.join(" ", args) + " did not finish within " + LIMIT
            + "\n--- stderr:\n" + Files.readString(err));
      }
      Duration elapsed = Duration.ofNanos(System.nanoTime() - start);
      return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
          Files.readString(err, StandardCharsets.UTF_8), elapsed);
    } finally {
      Files.deleteIfExists(out);
      Files.deleteIfExists(err);
      deleteTree(cwd);
    }
  }

  /** Deletes a directory with whatever the command left in it (a relative --debug-log, say). */
  private static void deleteTree(Path dir) throws IOException {
    try (Stream<Path> paths = Files.walk(dir)) {
      for (Path p : paths.sorted(Comparator.reverseOrder()).toList()) {
        Files.deleteIfExists(p);
      }
    }
  }

  /** The common failure shape: exit 1 and exactly one stderr line, prefixed, containing {@code part}. */
  static void assertOneLineFailure(Result r, String part) {
    assertThat(r.exit()).as(r.toString()).isEqualTo(1);
    assertThat(r.errLines()).as(r.toString()).hasSize(1);
    assertThat(r.errLines().get(0)).as(r.toString()).startsWith("sandbox-metrics: ").contains(part);
    assertThat(r.out()).as(r.toString()).isEmpty();
  }
}
