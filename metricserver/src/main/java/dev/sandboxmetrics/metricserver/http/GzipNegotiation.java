package dev.sandboxmetrics.metricserver.http;

import io.netty.handler.codec.compression.StandardCompressionOptions;
import io.netty.handler.codec.http.HttpContentCompressor;

/**
 * Netty's response compressor at our gzip level, which also tells the {@link Router} in advance whether a
 * request's Accept-Encoding gets gzip, by Netty's own rules (q-values, {@code *}). The {@code /metrics}
 * endpoint compresses its body itself, in parts on several threads ({@link ParallelGzip}), and marks the
 * response with Content-Encoding, which makes this compressor pass it through untouched; every other
 * response is compressed here, as before.
 *
 * <p>One per connection (Netty's compressor keeps per-connection state), made by {@link HttpServer}.
 */
final class GzipNegotiation extends HttpContentCompressor {
  private final int level;

  /** gzip only (deflate is rarely asked for and gzip is what Prometheus sends), at {@code level}. */
  GzipNegotiation(int level) {
    super(StandardCompressionOptions.gzip(level, 15, 8));
    this.level = level;
  }

  /** The gzip level when a request with this Accept-Encoding (null when absent) gets gzip, else 0. */
  int gzipLevelFor(String acceptEncoding) {
    if (acceptEncoding == null || acceptEncoding.isEmpty()) {
      return 0;
    }
    return "gzip".equals(determineEncoding(acceptEncoding)) ? level : 0;
  }
}
