package dev.unroll.processor.validate;

/**
 * One reason a spec cannot be compiled.
 *
 * @param attribute the annotation attribute that is wrong ({@code "heads"}), or {@code null} for the whole
 *     annotation
 * @param message what is wrong and what to do instead
 */
public record Problem(String attribute, String message) {}
