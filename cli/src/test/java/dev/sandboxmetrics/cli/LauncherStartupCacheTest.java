package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's start-up cache, on a copy of {@code ./sandbox-metrics} in a small fake repository with fake
 * JDKs whose {@code java} only logs its command line and, for a training run, writes what the training
 * would leave: the cache is made once per jar and JDK and used afterwards, and made again when the jar or
 * the JDK's libjvm.so is another file, even one with an older time (which a check of times alone would
 * miss), or when {@code java} is a symbolic link that now leads to another JDK.
 */
class LauncherStartupCacheTest {
  @TempDir Path dir;

  private Path repo;
  private Path jar;
  private Path log;

  @BeforeEach
  void setUp() throws Exception {
    repo = Files.createDirectories(dir.resolve("repo"));
    Files.copy(Cli.repoRoot().resolve("sandbox-metrics"), repo.resolve("sandbox-metrics"));
    jar = Files.createDirectories(repo.resolve("cli/target")).resolve("sandbox-metrics.jar");
    Files.writeString(jar, "jar 1");
    log = dir.resolve("java.log");
  }

  @Test
  void madeOncePerJarAndJdk() throws Exception {
    Path java = fakeJdk("jdk-a");

    assertThat(launch(java, Map.of())).as("first use").contains("-XX:AOTCache=" + archive("jdk-a"))
        .contains("-Djna.boot.library.path=" + cacheName("jdk-a") + ".jna").contains("-jar " + jar);
    assertThat(trainings()).isEqualTo(1);
    assertThat(launch(java, Map.of())).contains("-XX:AOTCache=" + archive("jdk-a"));
    assertThat(trainings()).as("cache current").isEqualTo(1);
    assertThat(launch(java, Map.of(), "--version")).as("another command: the full archive")
        .contains("-XX:AOTCache=" + cacheName("jdk-a") + ".aot ");
    assertThat(trainings()).isEqualTo(1);

    replaceWithOlder(jar, "jar 2");
    assertThat(launch(java, Map.of())).contains("-XX:AOTCache=" + archive("jdk-a"));
    assertThat(trainings()).as("another jar, older than the cache").isEqualTo(2);
    assertThat(launch(java, Map.of())).contains("-XX:AOTCache=" + archive("jdk-a"));
    assertThat(trainings()).isEqualTo(2);

    replaceWithOlder(dir.resolve("jdk-a/lib/server/libjvm.so"), "libjvm 2");
    launch(java, Map.of());
    assertThat(trainings()).as("another libjvm.so (a JDK upgrade)").isEqualTo(3);

    assertThat(launch(java, Map.of("SANDBOX_METRICS_STARTUP_CACHE", "0"))).doesNotContain("-XX:AOTCache");
    assertThat(trainings()).isEqualTo(3);
  }

  @Test
  void javaThroughASymbolicLinkFollowsTheLink() throws Exception {
    Path a = fakeJdk("jdk-a");
    Path b = fakeJdk("jdk-b");
    Path link = Files.createSymbolicLink(dir.resolve("java"), a);

    assertThat(launch(link, Map.of())).contains("-XX:AOTCache=" + archive("jdk-a"));
    assertThat(launch(link, Map.of())).contains("-XX:AOTCache=" + archive("jdk-a"));
    assertThat(trainings()).isEqualTo(1);

    Files.delete(link);
    Files.createSymbolicLink(link, b);
    assertThat(launch(link, Map.of())).as("the link now leads to another JDK")
        .contains("-XX:AOTCache=" + archive("jdk-b"));
    assertThat(trainings()).isEqualTo(2);
  }

  @Test
  void jdk17WithItsArchiveNamesTheMainClassInsteadOfMinusJar() throws Exception {
    Path java = fakeJdk("jdk-17", "17.0.15");
    String run = launch(java, Map.of());
    // export-metrics gets the archive of its own classes; another command the full one.
    assertThat(run).contains("-XX:SharedArchiveFile=" + cacheName("jdk-17") + ".export.jsa")
        .contains("-cp " + jar + " dev.sandboxmetrics.cli.Main export-metrics x").doesNotContain("-jar");
    assertThat(trainings()).isEqualTo(1);
    assertThat(launch(java, Map.of(), "--version")).contains("-XX:SharedArchiveFile=" + cacheName("jdk-17") + ".jsa ")
        .contains("-cp " + jar + " dev.sandboxmetrics.cli.Main --version");
    assertThat(trainings()).as("one training makes both").isEqualTo(1);
    Files.delete(Path.of(cacheName("jdk-17") + ".export.jsa"));
    assertThat(launch(java, Map.of())).contains(".export.jsa");
    assertThat(trainings()).as("a cache without the export archive (made before it existed) is made again")
        .isEqualTo(2);
    assertThat(launch(java, Map.of("SANDBOX_METRICS_STARTUP_CACHE", "0"))).as("without the archive")
        .contains("-jar " + jar + " export-metrics x").doesNotContain("SharedArchiveFile");
    // JDK 25 keeps -jar: its manifest grants JNA native access (MadeOncePerJarAndJdk checks the same run).
    assertThat(launch(fakeJdk("jdk-25"), Map.of())).contains("-jar " + jar + " export-metrics x");
  }

  private Path fakeJdk(String name) throws Exception {
    return fakeJdk(name, "25.0.1");
  }

  /**
   * A JDK whose java logs its arguments; a training run writes the archive (JDK 25's AOT cache, or JDK 17's
   * class list and then, dumping, its CDS archive) and JNA's directory.
   */
  private Path fakeJdk(String name, String version) throws Exception {
    Path home = Files.createDirectories(dir.resolve(name));
    Files.writeString(home.resolve("release"), "IMPLEMENTOR=\"test\"\nJAVA_VERSION=\"" + version + "\"\n");
    Files.createDirectories(home.resolve("lib/server"));
    Files.writeString(home.resolve("lib/server/libjvm.so"), "libjvm 1");
    Path java = Files.createDirectories(home.resolve("bin")).resolve("java");
    Files.writeString(java, "#!/bin/sh\n"
        + "echo \"$*\" >> '" + log + "'\n"
        + "out=\n"
        + "after=\n"
        + "for a; do case \"$a\" in -XX:AOTCacheOutput=*|-XX:DumpLoadedClassList=*|-XX:SharedArchiveFile=*)"
        + " echo archive > \"${a#*=}\" ;; esac\n"
        + "  if [ \"$after\" = 1 ]; then mkdir -p \"$a\"; echo so > \"$a/libjnidispatch.so\"; after=2; fi\n"
        + "  case \"$a\" in *StartupTraining) after=1 ;; esac; done\n");
    Files.setPosixFilePermissions(java, PosixFilePermissions.fromString("rwxr-xr-x"));
    return java;
  }

  private String cacheName(String jdk) {
    String javaPath = dir.resolve(jdk).resolve("bin/java").toString().replaceAll("[^A-Za-z0-9._-]", "_");
    return repo.resolve("cli/target/startup-cache").resolve(javaPath).toString();
  }

  /** The archive export-metrics runs with: the one of its own classes. */
  private String archive(String jdk) {
    return cacheName(jdk) + ".export.aot";
  }

  /** A new file (another inode) in place of {@code p}, dated before everything the launcher made. */
  private void replaceWithOlder(Path p, String content) throws Exception {
    Path tmp = Files.writeString(p.resolveSibling(p.getFileName() + ".new"), content);
    Files.setLastModifiedTime(tmp, FileTime.from(Instant.parse("2020-01-01T00:00:00Z")));
    Files.move(tmp, p, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
  }

  private long trainings() throws Exception {
    return Files.readAllLines(log).stream().filter(l -> l.contains("StartupTraining")).count();
  }

  /** Runs {@code sandbox-metrics export-metrics x} with {@code java}; returns the command line it ran. */
  private String launch(Path java, Map<String, String> env) throws Exception {
    return launch(java, env, "export-metrics", "x");
  }

  private String launch(Path java, Map<String, String> env, String... args) throws Exception {
    List<String> cmd = new java.util.ArrayList<>(List.of(repo.resolve("sandbox-metrics").toString()));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
    pb.environment().put("JAVA", java.toString());
    pb.environment().put("SANDBOX_METRICS_NO_BUILD", "1");
    for (String v : List.of("SANDBOX_METRICS_PRINT_COMMAND", "SANDBOX_METRICS_JAVA_OPTS", "SANDBOX_METRICS_STARTUP_CACHE")) {
      pb.environment().remove(v);
    }
    pb.environment().putAll(env);
    Process p = pb.start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
    assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
    assertThat(p.exitValue()).as(out).isZero();
    List<String> lines = Files.readAllLines(log);
    String last = lines.get(lines.size() - 1);
    assertThat(last).as("the last java command is the real run").doesNotContain("StartupTraining")
        .containsAnyOf("-jar " + jar, "-cp " + jar);
    return last;
  }
}
