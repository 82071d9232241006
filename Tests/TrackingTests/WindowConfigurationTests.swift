import Testing
import Tracking

@Suite("Window configuration")
struct WindowConfigurationTests {
    @Test("length and stride are validated with messages that name the bad value")
    func validation() throws {
        #expect(throws: Never.self) { try WindowConfiguration(length: 5, stride: 2).validate() }
        #expect(throws: Never.self) { try WindowConfiguration.wholeVideo.validate() }
        #expect(WindowConfiguration.wholeVideo.isWholeVideo && !WindowConfiguration.default.isWholeVideo)
        do {
            try WindowConfiguration(length: 3, stride: 4).validate()
            Issue.record("stride > length accepted")
        } catch {
            #expect(error.code == .configuration && error.message.contains("between 1 and the window length (3), got 4"))
        }
        do {
            try WindowConfiguration(length: 0, stride: 1).validate()
            Issue.record("length 0 accepted")
        } catch {
            #expect(error.message.contains("at least 1 frame, got 0"))
        }
    }
}
