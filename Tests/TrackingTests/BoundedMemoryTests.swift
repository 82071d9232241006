import Testing
import Tracking

@Suite("Bounded caches over long streams (scripted model)")
struct BoundedMemoryTests {
    /// 3 000 frames, a phrase replaced every 10 frames (300 changes, each a new text) and a third phrase
    /// added and removed every 15: every cache stays at its bound after the first windows.
    @Test("thousands of frames and hundreds of phrase changes keep cache sizes constant")
    func longStream() throws {
        let model = ScriptedModel { text, t in
            let x = (t + text.count) % 26
            return [ScriptedQuery(score: 0.8, rect: Rect(x0: x, y0: 4, x1: x + 6, y1: 10)), ScriptedQuery(score: 0.3, rect: Rect(x0: 0, y0: 16, x1: 5, y1: 24))]
        }
        let window = WindowConfiguration(length: 4, stride: 2)
        let tracker = StreamTracker(engine: model, configuration: TrackingConfiguration(window: window, textCacheCapacity: 8))
        try tracker.addPhrase(id: "a", text: "phrase 0")
        try tracker.addPhrase(id: "b", text: "the same one")
        var maxima = TrackerStatistics()
        var emitted = 0
        for i in 0..<3000 {
            if i % 10 == 0 { try tracker.setPhrase(id: "a", text: "phrase \(i / 10)") }
            if i % 15 == 0 { try tracker.addPhrase(id: "c", text: "extra \(i % 45)") }
            if i % 15 == 7 { tracker.removePhrase(id: "c") }
            emitted += try tracker.push(blankFrame(i)).count
            let s = tracker.statistics
            maxima.cachedFrames = max(maxima.cachedFrames, s.cachedFrames)
            maxima.cachedDetections = max(maxima.cachedDetections, s.cachedDetections)
            maxima.cachedTexts = max(maxima.cachedTexts, s.cachedTexts)
            maxima.cachedTrackMasks = max(maxima.cachedTrackMasks, s.cachedTrackMasks)
        }
        let s = tracker.statistics
        // Between calls: the T − s frames the next window shares plus the newest one, their per-frame
        // outputs for each of the (at most 3) phrases, the text cache's capacity, and T − s shared masks
        // per phrase — reached early and never exceeded.
        #expect(maxima.cachedFrames == 3 && maxima.cachedDetections == 2 * 3 && maxima.cachedTexts == 8 && maxima.cachedTrackMasks == 2 * 3, "\(maxima)")
        #expect(s.framesPushed == 3000 && s.backboneRuns == 3000 && s.windowsRun == 1 + (3000 - 4) / 2)
        #expect(emitted == s.masksEmitted && emitted > 2 * 3000)
        // After the stream: only the frames the next window shares are left.
        #expect(s.cachedFrames == 2 && s.phraseCount == 2)
    }
}
