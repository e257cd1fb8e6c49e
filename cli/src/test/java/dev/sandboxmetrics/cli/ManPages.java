package dev.sandboxmetrics.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.codegen.docgen.manpage.ManPageGenerator;

/**
 * Makes the man pages in {@code man/} from the commands' picocli models: picocli's {@link ManPageGenerator}
 * writes AsciiDoc (doctype manpage), Asciidoctor turns it into troff. One page for {@code sandbox-metrics}
 * and one per command ({@code sandbox-metrics-export-metrics.1}, ...), as git does. Run by ManPageTest,
 * which compares them with the committed pages, or rewrites those with {@code -Dsandboxmetrics.man.update=true}.
 */
final class ManPages {
  /** A fixed date for the pages' footer, so that the output depends on the models alone. */
  static final String SOURCE_DATE_EPOCH = "1735689600"; // 2025-01-01

  private ManPages() {}

  /** The page file names and their troff text, made in {@code work} (AsciiDoc files are left there). */
  static List<Path> generate(Path work) throws IOException, InterruptedException {
    CommandLine all = Main.commandLine(new Main(), "", true);
    // The version line without the JDK's: a page must not depend on the machine that made it.
    String version = Main.NAME + " " + VersionProvider.version();
    List<CommandSpec> specs = new ArrayList<>();
    specs.add(all.getCommandSpec());
    for (CommandLine sub : all.getSubcommands().values()) {
      specs.add(sub.getCommandSpec());
    }
    List<Path> pages = new ArrayList<>();
    for (CommandSpec spec : specs) {
      spec.versionProvider(() -> new String[] {version});
      String name = spec.qualifiedName("-");
      Path adoc = work.resolve(name + ".adoc");
      try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(adoc, StandardCharsets.UTF_8))) {
        ManPageGenerator.writeSingleManPage(w, spec);
      }
      Path page = work.resolve(name + ".1");
      ProcessBuilder pb = new ProcessBuilder("asciidoctor", "--backend=manpage", "--failure-level=WARN",
          "--out-file=" + page, adoc.toString())
          .redirectErrorStream(true);
      pb.environment().put("SOURCE_DATE_EPOCH", SOURCE_DATE_EPOCH);
      Process p = pb.start();
      String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
      if (!p.waitFor(120, TimeUnit.SECONDS) || p.exitValue() != 0) {
        throw new IOException("asciidoctor failed on " + adoc + ": " + said);
      }
      pages.add(page);
    }
    return pages;
  }
}
