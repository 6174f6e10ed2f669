package io.gemgate.testing;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.apache.logging.log4j.core.Appender;
import org.apache.logging.log4j.core.Core;
import org.apache.logging.log4j.core.LogEvent;
import org.apache.logging.log4j.core.appender.AbstractAppender;
import org.apache.logging.log4j.core.config.Property;
import org.apache.logging.log4j.core.config.plugins.Plugin;
import org.apache.logging.log4j.core.config.plugins.PluginAttribute;
import org.apache.logging.log4j.core.config.plugins.PluginFactory;

/** Keeps every formatted log line of the test JVM, so tests can assert what was (and was not) logged. */
@Plugin(name = "CapturingAppender", category = Core.CATEGORY_NAME, elementType = Appender.ELEMENT_TYPE)
public final class CapturingAppender extends AbstractAppender {
    private static final List<String> LINES = new CopyOnWriteArrayList<>();

    private CapturingAppender(String name) {
        super(name, null, null, true, Property.EMPTY_ARRAY);
    }

    @PluginFactory
    public static CapturingAppender create(@PluginAttribute("name") String name) {
        return new CapturingAppender(name);
    }

    @Override
    public void append(LogEvent event) {
        String line = event.getLoggerName() + " " + event.getMessage().getFormattedMessage();
        if (event.getThrown() != null) {
            line += " " + event.getThrown();
        }
        LINES.add(line);
    }

    /** Every line logged so far in this JVM. */
    public static List<String> lines() {
        return List.copyOf(LINES);
    }

    /** Lines of the access logger. */
    public static List<String> accessLines() {
        return LINES.stream().filter(l -> l.startsWith("gemgate.access ")).toList();
    }
}
