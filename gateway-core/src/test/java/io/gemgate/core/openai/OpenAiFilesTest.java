package io.gemgate.core.openai;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class OpenAiFilesTest {
    private static byte[] form(String... parts) {
        StringBuilder sb = new StringBuilder();
        for (String p : parts) {
            sb.append("--B1\r\n").append(p).append("\r\n");
        }
        return sb.append("--B1--\r\n").toString().getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void readsFileAndPurposeFromAMultipartForm() {
        byte[] body = form("Content-Disposition: form-data; name=\"purpose\"\r\n\r\nassistants",
                "Content-Disposition: form-data; name=\"file\"; filename=\"report.pdf\"\r\n"
                        + "Content-Type: application/octet-stream\r\n\r\n%PDF-1\r\n--not the end");
        OpenAiFiles.Upload u = OpenAiFiles.parseUpload("multipart/form-data; boundary=B1", body);
        assertThat(u.filename()).isEqualTo("report.pdf");
        assertThat(u.purpose()).isEqualTo("assistants");
        assertThat(u.mimeType()).isEqualTo("application/pdf"); // octet-stream: guessed from the name
        assertThat(new String(u.data(), u.off(), u.len(), StandardCharsets.UTF_8)).isEqualTo("%PDF-1\r\n--not the end");
        String gemini = new String(OpenAiFiles.geminiBody(u, "G"), StandardCharsets.UTF_8);
        assertThat(gemini).startsWith("--G\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n"
                + "{\"file\":{\"displayName\":\"report.pdf\",\"mimeType\":\"application/pdf\"}}\r\n--G\r\n"
                + "Content-Type: application/pdf\r\n\r\n%PDF-1").endsWith("\r\n--G--\r\n");
        assertThat(OpenAiFiles.meta(u)).isEqualTo("assistants/" + u.len() + "/report.pdf");
    }

    @Test
    void missingOrBadFieldsAreA400NamingThem() {
        assertThatThrownBy(() -> OpenAiFiles.parseUpload("application/json", new byte[0]))
                .isInstanceOf(OpenAiRequestException.class);
        assertThatThrownBy(() -> OpenAiFiles.parseUpload("multipart/form-data; boundary=B1",
                form("Content-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch")))
                .hasMessageContaining("'file'");
        assertThatThrownBy(() -> OpenAiFiles.parseUpload("multipart/form-data; boundary=B1",
                form("Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx")))
                .hasMessageContaining("'purpose'");
        assertThatThrownBy(() -> OpenAiFiles.parseUpload("multipart/form-data; boundary=B1",
                form("Content-Disposition: form-data; name=\"purpose\"\r\n\r\nnope",
                        "Content-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nx")))
                .hasMessageContaining("Invalid value: 'nope'");
        assertThatThrownBy(() -> OpenAiFiles.parseUpload("multipart/form-data; boundary=B1",
                "--B1\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nno end".getBytes(StandardCharsets.UTF_8)))
                .hasMessageContaining("cut short");
    }

    @Test
    void idsMapToGeminiNamesAndBack() {
        assertThat(OpenAiFiles.id("files/abc123")).isEqualTo("file-abc123");
        assertThat(OpenAiFiles.geminiName("file-abc123")).isEqualTo("files/abc123");
        assertThat(OpenAiFiles.geminiName("file-ABC")).isNull();
        assertThat(OpenAiFiles.geminiName("assistant-1")).isNull();
        String json = new String(OpenAiFiles.fileObject("files/x1", "vision/42/cat.png", 1_700_000_000_000L,
                1_700_172_800_000L), StandardCharsets.UTF_8);
        assertThat(json).isEqualTo("{\"id\":\"file-x1\",\"object\":\"file\",\"bytes\":42,\"created_at\":1700000000,"
                + "\"expires_at\":1700172800,\"filename\":\"cat.png\",\"purpose\":\"vision\",\"status\":\"processed\","
                + "\"status_details\":null}");
    }
}
