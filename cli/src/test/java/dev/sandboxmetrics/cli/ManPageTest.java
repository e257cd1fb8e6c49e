package dev.sandboxmetrics.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The man pages in {@code man/} are what {@link ManPages} makes from the commands' models today (so they
 * cannot go stale: change an option, run this test with {@code -Dsandboxmetrics.man.update=true}, commit),
 * and groff reads them without a warning. Needs asciidoctor and groff (./run-tests installs them).
 */
class ManPageTest {
  @TempDir Path work;

  @Test
  void committedManPagesAreTheGeneratedOnesAndGroffAcceptsThem() throws Exception {
    Path manDir = Cli.repoRoot().resolve("man");
    List<Path> generated = ManPages.generate(work);
    assertThat(generated).extracting(p -> p.getFileName().toString())
        .contains("sandbox-metrics.1", "sandbox-metrics-export-metrics.1", "sandbox-metrics-metric-server.1");

    if (Boolean.getBoolean("sandboxmetrics.man.update")) {
      Files.createDirectories(manDir);
      try (Stream<Path> old = Files.list(manDir)) {
        for (Path p : old.filter(p -> p.toString().endsWith(".1")).toList()) {
          Files.delete(p);
        }
      }
      for (Path page : generated) {
        Files.copy(page, manDir.resolve(page.getFileName()), StandardCopyOption.REPLACE_EXISTING);
      }
    }

    List<String> committed;
    try (Stream<Path> files = Files.list(manDir)) {
      committed = files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".1")).sorted().toList();
    }
    assertThat(committed).as("man/ holds exactly the generated pages")
        .containsExactlyElementsOf(generated.stream().map(p -> p.getFileName().toString()).sorted().toList());
    for (Path page : generated) {
      assertThat(withoutGenerator(Files.readString(manDir.resolve(page.getFileName()))))
          .as("man/%s is stale: regenerate it (ManPageTest with -Dsandboxmetrics.man.update=true)", page.getFileName())
          .isEqualTo(withoutGenerator(Files.readString(page)));
    }

    for (String name : committed) {
      List<String> groff = List.of("groff", "-z", "-man", "-ww", manDir.resolve(name).toString());
      Process p = new ProcessBuilder(groff).redirectErrorStream(true).start();
      String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
      assertThat(p.exitValue()).as("%s: %s", groff, said).isZero();
      assertThat(said).as("groff's warnings on %s", name).isEmpty();
    }
  }

  /** The comment naming Asciidoctor's version, the one line another machine's Asciidoctor may write differently. */
  private static String withoutGenerator(String page) {
    return page.replaceAll("(?m)^\\.\\\\\" Generator: .*\n", "");
  }

  @Test
  void theMainPageListsEveryCommandAndTheGlobalOptions() throws Exception {
    String page = Files.readString(Cli.repoRoot().resolve("man/sandbox-metrics.1"));
    for (String command : Main.SUBCOMMANDS) {
      assertThat(page).as("the main page names %s", command).contains(command.replace("-", "\\-"));
    }
    assertThat(page).contains("\\-\\-root").contains("\\-\\-metric\\-server");
    List<String> missing = new ArrayList<>();
    String server = Files.readString(Cli.repoRoot().resolve("man/sandbox-metrics-metric-server.1"));
    for (String option : List.of("exporter-prefix", "pid-file", "gzip-level")) {
      if (!server.contains("\\-\\-" + option.replace("-", "\\-"))) {
        missing.add(option);
      }
    }
    assertThat(missing).as("metric-server options missing from its page").isEmpty();
  }
}
