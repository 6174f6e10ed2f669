package io.gemgate.core.settings;

import static java.util.Objects.requireNonNull;

/**
 * A setting refused: unknown, of the wrong type or out of range. The admin API answers it with 400 and both parts.
 * The message is {@code field + ": " + detail}, e.g. {@code "maxAttempts: 0 (expected: 1 to 20)"}.
 */
public final class SettingsException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    private final String field;
    private final String detail;

    /**
     * @param field  the setting's path, such as {@code maxAttempts} or {@code keyBudgets.gemini-2.5-pro.rpm}; empty
     *               when the document as a whole is at fault (malformed JSON, not an object)
     * @param detail what is wrong and what is expected
     */
    public SettingsException(String field, String detail) {
        super(field.isEmpty() ? detail : field + ": " + detail);
        this.field = requireNonNull(field, "field");
        this.detail = requireNonNull(detail, "detail");
    }

    /** The setting's path; empty for the document as a whole. */
    public String field() {
        return field;
    }

    /**
     * The same problem one level down: {@code rpm} within {@code keyBudgets.gemini-2.5-pro} becomes
     * {@code keyBudgets.gemini-2.5-pro.rpm}.
     */
    public SettingsException within(String parent) {
        return new SettingsException(field.isEmpty() ? parent : parent + "." + field, detail);
    }

    /** The message without the field. */
    public String detail() {
        return detail;
    }
}
