package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's staleness check, on a copy of {@code ./sandbox-metrics} in a small fake repository whose
 * "Maven" only counts its builds: it builds when the jar is missing, when a pom or a main source or
 * resource is newer than the jar, when a source is deleted, and not otherwise.
 */
class LauncherStalenessTest {
  @TempDir Path repo;

  private final Instant jarTime = Instant.parse("2026-01-01T00:00:00Z");

  @Test
  void buildsExactlyWhenAnInputChanged() throws Exception {
    Files.copy(Cli.repoRoot().resolve("sandbox-metrics"), repo.resolve("sandbox-metrics"));
    Path source = write("cli/src/main/java/a/A.java", "class A {}");
    Path resource = write("metricserver/src/main/resources/x.properties", "x=1");
    write("pom.xml", "<project/>");
    write("cli/pom.xml", "<project/>");
    write("cli/src/test/java/a/ATest.java", "class ATest {}");
    Path mvn = executable("mvn-stub", "echo built >> '" + repo.resolve("builds") + "'\n"
        + "mkdir -p cli/target && touch cli/target/sandbox-metrics.jar\n");
    Path java = executable("java-stub", "exit 0\n");

    assertThat(launch(mvn, java)).as("no jar yet").isEqualTo(1);
    settle();
    assertThat(launch(mvn, java)).as("nothing changed").isEqualTo(1);

    touch(source);
    assertThat(launch(mvn, java)).as("a source changed").isEqualTo(2);
    settle();
    touch(resource);
    assertThat(launch(mvn, java)).as("a resource changed").isEqualTo(3);
    settle();
    touch(repo.resolve("cli/pom.xml"));
    assertThat(launch(mvn, java)).as("a module's pom changed").isEqualTo(4);
    settle();
    touch(repo.resolve("cli/src/test/java/a/ATest.java"));
    assertThat(launch(mvn, java)).as("a test source is not an input of the jar").isEqualTo(4);

    Files.delete(source); // its directory's time moves on
    assertThat(launch(mvn, java)).as("a source deleted").isEqualTo(5);
    settle();
    write("cli/src/main/java/b/c/New.java", "class New {}");
    Files.setLastModifiedTime(repo.resolve("cli/src/main/java/b/c/New.java"), FileTime.from(jarTime.plusSeconds(5)));
    assertThat(launch(mvn, java)).as("a new source in a new package").isEqualTo(6);
  }

  /**
   * The list of inputs the launcher keeps (cli/target/launcher-inputs) is only a shortcut: an empty one, or
   * one cut short (no "end" line, as from a launch killed while writing it), is ignored, and a source edited
   * in place is found either way.
   */
  @Test
  void aDamagedListOfInputsIsIgnored() throws Exception {
    Files.copy(Cli.repoRoot().resolve("sandbox-metrics"), repo.resolve("sandbox-metrics"));
    Path source = write("cli/src/main/java/a/A.java", "class A {}");
    write("pom.xml", "<project/>");
    Path mvn = executable("mvn-stub", "echo built >> '" + repo.resolve("builds") + "'\n"
        + "mkdir -p cli/target && touch cli/target/sandbox-metrics.jar\n");
    Path java = executable("java-stub", "exit 0\n");
    Path inputs = repo.resolve("cli/target/launcher-inputs");

    assertThat(launch(mvn, java)).isEqualTo(1);
    settle();
    assertThat(launch(mvn, java)).as("nothing changed").isEqualTo(1);
    assertThat(Files.readAllLines(inputs)).as("the list written").contains("cli/src/main/java/a/A.java").endsWith("end");

    Files.writeString(inputs, "");
    assertThat(launch(mvn, java)).as("an empty list").isEqualTo(1);
    Files.writeString(inputs, "pom.xml\n");
    touch(source);
    assertThat(launch(mvn, java)).as("a list cut short, a source edited").isEqualTo(2);
  }

  /** Runs the launcher; returns how many builds there were so far. */
  private long launch(Path mvn, Path java) throws Exception {
    ProcessBuilder pb = new ProcessBuilder(repo.resolve("sandbox-metrics").toString(), "--version")
        .redirectErrorStream(true);
    pb.environment().put("MVN", mvn.toString());
    pb.environment().put("JAVA", java.toString());
    pb.environment().remove("SANDBOX_METRICS_NO_BUILD");
    pb.environment().remove("SANDBOX_METRICS_PRINT_COMMAND");
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    Path builds = repo.resolve("builds");
    return Files.exists(builds) ? Files.readAllLines(builds).size() : 0;
  }

  /** Puts every input (files and directories) before the jar, as after a build that saw them all. */
  private void settle() throws Exception {
    try (var all = Files.walk(repo)) {
      for (Path p : all.toList()) {
        Files.setLastModifiedTime(p, FileTime.from(jarTime.minusSeconds(60)));
      }
    }
    Files.setLastModifiedTime(repo.resolve("cli/target/sandbox-metrics.jar"), FileTime.from(jarTime));
  }

  private void touch(Path p) throws Exception {
    Files.setLastModifiedTime(p, FileTime.from(jarTime.plusSeconds(5)));
  }

  private Path write(String relative, String text) throws Exception {
    Path p = repo.resolve(relative);
    Files.createDirectories(p.getParent());
    return Files.writeString(p, text);
  }

  private Path executable(String name, String body) throws Exception {
    Path p = Files.writeString(repo.resolve(name), "#!/bin/sh\n" + body);
    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
    return p;
  }
}
