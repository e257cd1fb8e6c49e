package dev.sandboxmetrics.metricserver.containerstats;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.core.StreamReadConstraints;
import java.io.IOException;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Small JSON values as plain Java objects (Map, List, String, BigInteger for integers, Double for other
 * numbers, Boolean, null), read with the streaming parser: the metric server's main code does not carry
 * jackson-databind. Used for the parts of state files and Event replies that the container stats need;
 * duplicate keys keep the last value, as Go's encoding/json does. Not for large documents.
 */
final class JsonTree {
  static final JsonFactory FACTORY =
      JsonFactory.builder()
          .streamReadConstraints(
              StreamReadConstraints.builder().maxNestingDepth(64).maxNumberLength(64).build())
          .build();

  private JsonTree() {}

  /** The whole of {@code bytes[0, length)} as one value; trailing data is an error. */
  static Object parse(byte[] bytes, int length) throws IOException {
    try (JsonParser p = FACTORY.createParser(bytes, 0, length)) {
      JsonToken t = p.nextToken();
      if (t == null) {
        throw new IOException("no JSON value");
      }
      Object v = read(p);
      if (p.nextToken() != null) {
        throw new IOException("data after the JSON value");
      }
      return v;
    }
  }

  /** The value at the parser's current token (already advanced to). */
  static Object read(JsonParser p) throws IOException {
    JsonToken t = p.currentToken();
    switch (t) {
      case START_OBJECT: {
        Map<String, Object> m = new LinkedHashMap<>();
        while (p.nextToken() == JsonToken.FIELD_NAME) {
          String name = p.currentName();
          p.nextToken();
          m.put(name, read(p));
        }
        return m;
      }
      case START_ARRAY: {
        List<Object> l = new ArrayList<>();
        while (p.nextToken() != JsonToken.END_ARRAY) {
          l.add(read(p));
        }
        return l;
      }
      case VALUE_STRING:
        return p.getText();
      case VALUE_NUMBER_INT:
        return p.getBigIntegerValue();
      case VALUE_NUMBER_FLOAT:
        return p.getDoubleValue();
      case VALUE_TRUE:
        return Boolean.TRUE;
      case VALUE_FALSE:
        return Boolean.FALSE;
      case VALUE_NULL:
        return null;
      default:
        throw new IOException("unexpected JSON token " + t);
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> object(Object v) {
    return v instanceof Map ? (Map<String, Object>) v : null;
  }

  /** The member {@code name} of an object, or null when {@code v} is not an object or has no such member. */
  static Object get(Object v, String name) {
    Map<String, Object> m = object(v);
    return m == null ? null : m.get(name);
  }

  /** A path of member names; null as soon as one is missing. */
  static Object path(Object v, String... names) {
    Object cur = v;
    for (String n : names) {
      cur = get(cur, n);
      if (cur == null) {
        return null;
      }
    }
    return cur;
  }

  static String string(Object v) {
    return v instanceof String s ? s : null;
  }

  /** An integer that fits a long, else null. */
  static Long longValue(Object v) {
    if (v instanceof BigInteger b && b.bitLength() < 64) {
      return b.longValue();
    }
    return null;
  }

  private static final BigInteger UINT64_LIMIT = BigInteger.ONE.shiftLeft(64);

  /**
   * A Go uint64: an integer in [0, 2^64), returned as the long with the same 64 bits.
   *
   * @throws IOException naming {@code what} when it is anything else (negative, fractional, too large)
   */
  static long uint64(Object v, String what) throws IOException {
    if (v instanceof BigInteger b && b.signum() >= 0 && b.compareTo(UINT64_LIMIT) < 0) {
      return b.longValue();
    }
    throw new IOException(what + " is not an unsigned 64-bit integer: " + v);
  }
}
