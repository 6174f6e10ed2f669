package io.gemgate.core.openai;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import com.fasterxml.jackson.databind.JsonNode;
import io.gemgate.core.openai.ChatRequest.Message;
import io.gemgate.core.openai.ChatRequest.Part;
import io.gemgate.core.openai.ChatRequest.PartKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;
import java.util.stream.Stream;

import static io.gemgate.core.openai.Jsons.json;
import static io.gemgate.core.openai.Jsons.tree;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.params.provider.Arguments.arguments;

/** {@link ChatMedia}: media types, data URLs and the Gemini parts of a user message. */
class ChatMediaTest {
    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "https://example.com/a/cat.PNG?size=2,     image/png",
            "https://example.com/cat.jpg#frag,          image/jpeg",
            "https://example.com/cat.jpeg,              image/jpeg",
            "https://example.com/cat.webp,              image/webp",
            "https://example.com/cat.gif,               image/gif",
            "https://example.com/cat.heic,              image/heic",
            "https://example.com/cat.heif,              image/heif",
            "https://example.com/report.pdf,            application/pdf",
            "https://example.com/notes.txt,             text/plain",
            "https://example.com/a.mp3,                 audio/mp3",
            "https://example.com/a.wav,                 audio/wav",
            "https://example.com/a.mp4,                 video/mp4",
            "https://example.com/a.mov,                 video/mov",
            "https://example.com/a.webm,                video/webm",
            "https://www.youtube.com/watch?v=abc,       video/mp4",
            "https://youtu.be/abc,                      video/mp4",
            "https://m.youtube.com/watch?v=abc,         video/mp4",
            "https://example.com/dir.v2/file,           fallback/x",
            "https://example.com/cat,                   fallback/x",
            "https://example.com/a.bin,                 fallback/x",
            "https://example.com/a.png.exe?x=.png,      fallback/x",
            "slides.PDF,                                application/pdf",
    })
    void guessesTheMediaTypeFromThePathExtension(String url, String expected) {
        assertThat(ChatMedia.guessMime(url, "fallback/x")).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({"wav, audio/wav", "MP3, audio/mp3", "aiff, audio/aiff", "aac, audio/aac", "ogg, audio/ogg",
            "flac, audio/flac", "opus, ", "pcm16, ", ", "})
    void audioFormats(String format, String expected) {
        assertThat(ChatMedia.audioMime(format)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource({
            "file-abc123,   https://generativelanguage.googleapis.com/v1beta/files/abc123",
            "file-a-b-9,    https://generativelanguage.googleapis.com/v1beta/files/a-b-9",
            "file-,         ",
            "file-ABC,      ",
            "file-a/../b,   ",
            "files/abc,     ",
            "abc,           ",
            ",              ",
    })
    void fileIdsNameGeminiFiles(String fileId, String expected) {
        assertThat(ChatMedia.fileUri(fileId)).isEqualTo(expected);
        assertThat(ChatRequestTranslator.fileUri(fileId)).isEqualTo(expected);
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @CsvSource(delimiter = '|', value = {
            "data:image/png;base64,AAAA | 21",
            "DATA:image/png;BASE64,AAAA | 21",
            "data:image/png;base64,     | 21",
            "data:image/png;base64AAAA  | Invalid data URL: no ',' before the data.",
            "data:image/png,AAAA        | Only base64 data URLs are supported (data:<type>;base64,...).",
            "data:,AAAA                 | Only base64 data URLs are supported (data:<type>;base64,...).",
            "data:;base64,AAAA          | Invalid data URL: no media type (data:<type>;base64,...).",
    })
    void dataUrls(String url, String expected) {
        if (Character.isDigit(expected.charAt(0))) {
            assertThat(ChatMedia.dataUrlComma(url, "messages[#].content[#].image_url.url", 1, 2))
                    .isEqualTo(Integer.parseInt(expected));
            return;
        }
        assertThatThrownBy(() -> ChatMedia.dataUrlComma(url, "messages[#].content[#].image_url.url", 1, 2))
                .isInstanceOfSatisfying(OpenAiRequestException.class, e -> {
                    assertThat(e.param()).isEqualTo("messages[1].content[2].image_url.url");
                    assertThat(e.getMessage()).isEqualTo(expected);
                });
    }

    static Stream<Arguments> userParts() {
        return Stream.of(
                arguments(new Part(PartKind.TEXT, "hi", null, null), "[{'text':'hi'}]"),
                arguments(new Part(PartKind.TEXT, "", null, null), "[]"),
                arguments(new Part(PartKind.IMAGE_URL, "data:Image/PNG;base64,iVBO", null, null),
                        "[{'inlineData':{'mimeType':'image/png','data':'iVBO'}}]"),
                arguments(new Part(PartKind.IMAGE_URL, "data:image/jpeg; charset=x;base64,/9j/", null, null),
                        "[{'inlineData':{'mimeType':'image/jpeg','data':'/9j/'}}]"),
                arguments(new Part(PartKind.IMAGE_URL, "https://example.com/cat.webp", null, null),
                        "[{'fileData':{'mimeType':'image/webp','fileUri':'https://example.com/cat.webp'}}]"),
                arguments(new Part(PartKind.IMAGE_URL, "https://example.com/cat", null, null),
                        "[{'fileData':{'mimeType':'image/jpeg','fileUri':'https://example.com/cat'}}]"),
                arguments(new Part(PartKind.INPUT_AUDIO, "UklG\nRg==\r\n", "wav", null),
                        "[{'inlineData':{'mimeType':'audio/wav','data':'UklGRg=='}}]"),
                arguments(new Part(PartKind.FILE, "JVBE-_0=", "notes.txt", null),
                        "[{'inlineData':{'mimeType':'text/plain','data':'JVBE-_0='}}]"),
                arguments(new Part(PartKind.FILE, "JVBERi0=", null, null),
                        "[{'inlineData':{'mimeType':'application/pdf','data':'JVBERi0='}}]"),
                arguments(new Part(PartKind.FILE, "JVBERi0=", "archive.bin", null),
                        "[{'inlineData':{'mimeType':'application/pdf','data':'JVBERi0='}}]"),
                arguments(new Part(PartKind.FILE, "data:application/pdf;base64,JVBERi0=", "x.txt", null),
                        "[{'inlineData':{'mimeType':'application/pdf','data':'JVBERi0='}}]"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource
    void userParts(Part part, String expected) throws IOException {
        assertThat(write(part)).isEqualTo(json(expected));
    }

    static Stream<Arguments> badBase64() {
        return Stream.of(
                arguments(new Part(PartKind.INPUT_AUDIO, "not*base64", "mp3", null),
                        "messages[2].content[0].input_audio.data", "Invalid base64 data."),
                arguments(new Part(PartKind.FILE, "", "a.pdf", null),
                        "messages[2].content[0].file.file_data", "Empty base64 data."),
                arguments(new Part(PartKind.IMAGE_URL, "data:image/png;base64,", null, null),
                        "messages[2].content[0].image_url.url", "Empty base64 data."),
                arguments(new Part(PartKind.IMAGE_URL, "data:image/png;base64,AA\"A", null, null),
                        "messages[2].content[0].image_url.url", "Invalid base64 data."));
    }

    @ParameterizedTest(name = "{0} -> {2}")
    @MethodSource
    void badBase64(Part part, String param, String message) {
        assertThatThrownBy(() -> write(part)).isInstanceOfSatisfying(OpenAiRequestException.class, e -> {
            assertThat(e.param()).isEqualTo(param);
            assertThat(e.getMessage()).isEqualTo(message);
        });
    }

    /** The parts ChatMedia writes for a user message (at index 2) holding {@code part}. */
    private static JsonNode write(Part part) throws IOException {
        ByteArrayBuilder out = new ByteArrayBuilder();
        try (JsonGenerator g = Json.generator(out)) {
            g.writeStartArray();
            ChatMedia.writeUserParts(g, new Message(2, "user", List.of(part), false, null, null, null));
            g.writeEndArray();
        }
        return tree(out.toByteArray());
    }
}
