package io.gemgate.core.keys;

/**
 * An interned model name with a small index, so that per-key state is found by array index instead of a map lookup.
 * Obtained from {@link KeyPool#model(String)}; instances are shared and immutable.
 *
 * @param name  the model as the client named it, without the {@code models/} prefix; {@link KeyPool#ANY_MODEL} for
 *              calls that name none (model lists, files)
 * @param index position in every key's per-model table
 */
public record ModelRef(String name, int index) {
}
