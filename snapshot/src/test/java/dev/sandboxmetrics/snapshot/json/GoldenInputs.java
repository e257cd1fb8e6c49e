package dev.sandboxmetrics.snapshot.json;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import dev.sandboxmetrics.snapshot.Snapshot;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/** Reads the {@code snapshot} members of a golden {@code *.in.json} file (gVisor's rendering inputs). */
final class GoldenInputs {
  private GoldenInputs() {}

  static List<Snapshot> snapshots(Path file, RunscJson.BothSetPolicy policy)
      throws IOException, RunscJsonException {
    List<Snapshot> result = new ArrayList<>();
    try (InputStream in = Files.newInputStream(file);
        JsonParser p = RunscJson.createParser(in)) {
      p.nextToken();
      while (p.nextToken() == JsonToken.FIELD_NAME) {
        String member = p.currentName();
        p.nextToken();
        if (!member.equals("snapshots")) {
          p.skipChildren();
          continue;
        }
        while (p.nextToken() == JsonToken.START_OBJECT) {
          while (p.nextToken() == JsonToken.FIELD_NAME) {
            String inner = p.currentName();
            p.nextToken();
            if (inner.equals("snapshot")) {
              result.add(RunscJson.readSnapshot(p, policy));
            } else {
              p.skipChildren();
            }
          }
        }
      }
    }
    return result;
  }
}
