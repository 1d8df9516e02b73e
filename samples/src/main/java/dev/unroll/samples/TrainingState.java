package dev.unroll.samples;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * The trainer's part of a training checkpoint ({@code AdamW.saveCheckpoint}'s {@code state}): strings by key, written
 * and read as the numbers they hold, exactly. A float is its bits in hex; an array of them, or of ints, their
 * little-endian bytes in Base64. Reading a key that is missing or does not parse is a {@link SampleException} that
 * names the checkpoint and the key: a checkpoint whose checksum holds but that this trainer did not write.
 */
final class TrainingState {
  private final Path file;
  private final Map<String, String> values;

  /** An empty state, to be filled and written. */
  TrainingState() {
    this.file = null;
    this.values = new LinkedHashMap<>();
  }

  /** The state read from {@code file}. */
  TrainingState(Path file, Map<String, String> values) {
    this.file = file;
    this.values = new LinkedHashMap<>(values);
  }

  /** The strings, as {@code saveCheckpoint} takes them. */
  Map<String, String> values() {
    return values;
  }

  void put(String key, String value) {
    values.put(key, value);
  }

  /** The value of {@code key}, or null when there is none. */
  String find(String key) {
    return values.get(key);
  }

  String get(String key) throws SampleException {
    String value = values.get(key);
    if (value == null) {
      throw new SampleException(file + ": the checkpoint has no '" + key + "': it was not written by this trainer");
    }
    return value;
  }

  void putLong(String key, long value) {
    put(key, Long.toString(value));
  }

  long getLong(String key) throws SampleException {
    String value = get(key);
    try {
      return Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw malformed(key, value, "a whole number");
    }
  }

  int getInt(String key) throws SampleException {
    long value = getLong(key);
    if (value != (int) value) {
      throw malformed(key, Long.toString(value), "an int");
    }
    return (int) value;
  }

  /** Writes {@code value}'s bits, so that NaN and every last bit come back as they were. */
  void putFloat(String key, float value) {
    put(key, Integer.toHexString(Float.floatToRawIntBits(value)));
  }

  float getFloat(String key) throws SampleException {
    String value = get(key);
    try {
      return Float.intBitsToFloat(Integer.parseUnsignedInt(value, 16));
    } catch (NumberFormatException e) {
      throw malformed(key, value, "a float's bits in hex");
    }
  }

  /** Writes {@code values[0, length)}. */
  void putFloats(String key, float[] values, int length) {
    ByteBuffer bytes = ByteBuffer.allocate(Float.BYTES * length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asFloatBuffer().put(values, 0, length);
    put(key, Base64.getEncoder().encodeToString(bytes.array()));
  }

  /** Reads {@code length} floats into {@code values[0, length)}; another count is an error. */
  void getFloats(String key, float[] values, int length) throws SampleException {
    bytes(key, Float.BYTES, length, "floats").asFloatBuffer().get(values, 0, length);
  }

  void putInts(String key, int[] values) {
    ByteBuffer bytes = ByteBuffer.allocate(Integer.BYTES * values.length).order(ByteOrder.LITTLE_ENDIAN);
    bytes.asIntBuffer().put(values);
    put(key, Base64.getEncoder().encodeToString(bytes.array()));
  }

  /** Reads {@code values.length} ints into {@code values}; another count is an error. */
  void getInts(String key, int[] values) throws SampleException {
    bytes(key, Integer.BYTES, values.length, "ints").asIntBuffer().get(values);
  }

  private ByteBuffer bytes(String key, int size, int count, String what) throws SampleException {
    String value = get(key);
    byte[] bytes;
    try {
      bytes = Base64.getDecoder().decode(value);
    } catch (IllegalArgumentException e) {
      throw malformed(key, value.length() > 40 ? value.substring(0, 40) + "..." : value, "Base64");
    }
    if (bytes.length != (long) size * count) {
      throw new SampleException(file + ": the checkpoint's '" + key + "' holds " + bytes.length / size + " " + what
          + ", expected " + count);
    }
    return ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
  }

  private SampleException malformed(String key, String value, String expected) {
    return new SampleException(file + ": the checkpoint's '" + key + "' is '" + value + "', not " + expected);
  }
}
