//! What an uploaded file is, from its bytes alone, and what is in it.
//!
//! [`sniff_audio`] and [`sniff_image`] look at magic numbers in the first bytes of a file
//! (never at its name or the type a client claims). [`probe`] then reads an audio file with
//! lofty as exactly the sniffed format, in lofty's strict mode, for its duration, bitrate,
//! sample rate, channels, codec and tags. Everything here is pure: no Spin APIs, no I/O but
//! the reader it is given.

use std::borrow::Cow;
use std::io::{Read, Seek, SeekFrom};

use lofty::config::{ParseOptions, ParsingMode};
use lofty::error::{ErrorKind, LoftyError};
use lofty::file::{AudioFile, TaggedFile, TaggedFileExt};
use lofty::flac::FlacFile;
use lofty::iff::wav::{WavFile, WavFormat};
use lofty::mp4::{Mp4Codec, Mp4File};
use lofty::mpeg::{Layer, MpegFile};
use lofty::ogg::{OpusFile, VorbisFile};
use lofty::tag::{Accessor, Tag};

/// How many bytes from the start of a file the sniffers need (callers pass up to this many).
pub const SNIFF_BYTES: usize = 4096;

/// The audio formats Spindle accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioFormat {
    Mp3,
    Flac,
    OggVorbis,
    OggOpus,
    M4a,
    Wav,
}

impl AudioFormat {
    /// The media type to serve the file as.
    pub fn mime(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "audio/mpeg",
            AudioFormat::Flac => "audio/flac",
            AudioFormat::OggVorbis | AudioFormat::OggOpus => "audio/ogg",
            AudioFormat::M4a => "audio/mp4",
            AudioFormat::Wav => "audio/wav",
        }
    }

    /// The codec this format usually carries. [`AudioInfo::codec`] tells the one a file has.
    pub fn codec(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "mp3",
            AudioFormat::Flac => "flac",
            AudioFormat::OggVorbis => "vorbis",
            AudioFormat::OggOpus => "opus",
            AudioFormat::M4a => "aac",
            AudioFormat::Wav => "pcm",
        }
    }

    /// The format in a sentence for people ("not {label}").
    fn label(self) -> &'static str {
        match self {
            AudioFormat::Mp3 => "an MP3 file",
            AudioFormat::Flac => "a FLAC file",
            AudioFormat::OggVorbis => "an Ogg Vorbis file",
            AudioFormat::OggOpus => "an Ogg Opus file",
            AudioFormat::M4a => "an M4A (MP4 audio) file",
            AudioFormat::Wav => "a WAV file",
        }
    }
}

pub use spindle_shared::images::{ImageFormat, sniff_image};

/// From the first bytes of a file (callers pass up to the first [`SNIFF_BYTES`]): the audio
/// format by magic numbers, never by name. `None` when the bytes are no audio format Spindle
/// accepts.
///
/// - MP3: an ID3v2 tag header, or an MPEG audio frame header (layer III or II, valid version,
///   bitrate and sample rate) at the very start, followed by another where its length says
///   when that falls within `head`;
/// - FLAC: "fLaC", at the start or right after an ID3v2 tag;
/// - Ogg Vorbis / Ogg Opus: "OggS", then "\x01vorbis" or "OpusHead" as the first page's packet;
/// - M4A: an "ftyp" box at offset 4 with a major or compatible brand that carries audio
///   ("M4A ", "M4B ", "mp42", "isom"...);
/// - WAV: "RIFF", a size, "WAVE".
pub fn sniff_audio(head: &[u8]) -> Option<AudioFormat> {
    if head.starts_with(b"fLaC") {
        return Some(AudioFormat::Flac);
    }
    if let Some(tag_len) = id3v2_len(head) {
        // Some taggers put an ID3v2 tag in front of a FLAC stream; lofty reads those as FLAC.
        let after = head.get(tag_len..).unwrap_or_default();
        return Some(if after.starts_with(b"fLaC") {
            AudioFormat::Flac
        } else {
            AudioFormat::Mp3
        });
    }
    if is_mpeg_audio(head) {
        return Some(AudioFormat::Mp3);
    }
    if head.starts_with(b"OggS") {
        return sniff_ogg(head);
    }
    if head.get(4..8) == Some(b"ftyp") {
        return is_audio_mp4(head).then_some(AudioFormat::M4a);
    }
    if head.starts_with(b"RIFF") && head.get(8..12) == Some(b"WAVE") {
        return Some(AudioFormat::Wav);
    }
    None
}

/// The length of the ID3v2 tag `head` starts with (header, body and footer), if it starts with one.
fn id3v2_len(head: &[u8]) -> Option<usize> {
    let header = head.get(..10)?;
    let valid = header.starts_with(b"ID3")
        && (2..=4).contains(&header[3])
        && header[4] != 0xFF
        && header[6..10].iter().all(|b| b & 0x80 == 0);
    if !valid {
        return None;
    }
    let size = header[6..10]
        .iter()
        .fold(0usize, |size, b| (size << 7) | usize::from(*b));
    let footer = if header[5] & 0x10 != 0 { 10 } else { 0 };
    Some(10 + size + footer)
}

/// An MPEG-1/2/2.5 audio frame header (layer II or III) with valid fields.
#[derive(Clone, Copy)]
struct MpegHeader {
    /// The bits that must not change from frame to frame: version, layer, sample rate.
    fixed: u32,
    /// The frame's length in bytes, header included.
    len: usize,
}

fn mpeg_header(bytes: &[u8]) -> Option<MpegHeader> {
    let &[b0, b1, b2, b3] = bytes.get(..4)? else {
        return None;
    };
    if b0 != 0xFF || b1 & 0xE0 != 0xE0 {
        return None;
    }
    let version = (b1 >> 3) & 0b11; // 0: MPEG-2.5, 1: reserved, 2: MPEG-2, 3: MPEG-1
    let layer = (b1 >> 1) & 0b11; // 1: layer III, 2: layer II (3 is layer I, 0 reserved)
    let bitrate_index = usize::from(b2 >> 4);
    let rate_index = usize::from((b2 >> 2) & 0b11);
    let padding = usize::from((b2 >> 1) & 1);
    let emphasis = b3 & 0b11;
    // Free-format (index 0) streams are too rare to accept: their frame length is unknown.
    if version == 1
        || !(layer == 1 || layer == 2)
        || bitrate_index == 0
        || bitrate_index == 15
        || rate_index == 3
        || emphasis == 2
    {
        return None;
    }
    const MPEG1_L2: [u32; 15] = [
        0, 32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384,
    ];
    const MPEG1_L3: [u32; 15] = [
        0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320,
    ];
    const MPEG2_L23: [u32; 15] = [0, 8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160];
    let kbps = match (version, layer) {
        (3, 2) => MPEG1_L2,
        (3, _) => MPEG1_L3,
        _ => MPEG2_L23,
    }[bitrate_index];
    let rate = match version {
        3 => [44_100, 48_000, 32_000],
        2 => [22_050, 24_000, 16_000],
        _ => [11_025, 12_000, 8_000],
    }[rate_index];
    // Samples per frame ÷ 8: 1152 ÷ 8, or 576 ÷ 8 for layer III outside MPEG-1.
    let slot_factor = if version != 3 && layer == 1 { 72 } else { 144 };
    let len = (slot_factor * kbps * 1000 / rate) as usize + padding;
    let fixed = u32::from_be_bytes([b0, b1, b2, b3]) & 0xFFFE_0C00;
    Some(MpegHeader { fixed, len })
}

/// Whether `head` starts with an MPEG audio frame; when the next frame's header falls inside
/// `head`, it must be there too and agree on version, layer and sample rate.
fn is_mpeg_audio(head: &[u8]) -> bool {
    let Some(first) = mpeg_header(head) else {
        return false;
    };
    match head.get(first.len..first.len + 4) {
        Some(next) => mpeg_header(next).is_some_and(|next| next.fixed == first.fixed),
        None => true,
    }
}

/// Vorbis or Opus, from the first packet of an Ogg stream's first page.
fn sniff_ogg(head: &[u8]) -> Option<AudioFormat> {
    // Page header: "OggS", version 0, header type (0x02: beginning of stream), ..., the
    // number of segments at byte 26, then the segment table, then the packet data.
    if head.get(4) != Some(&0) || head.get(5)? & 0x02 == 0 {
        return None;
    }
    let segments = usize::from(*head.get(26)?);
    let packet = head.get(27 + segments..)?;
    if packet.starts_with(b"\x01vorbis") {
        Some(AudioFormat::OggVorbis)
    } else if packet.starts_with(b"OpusHead") {
        Some(AudioFormat::OggOpus)
    } else {
        None
    }
}

/// Brands of ISO base media files that hold audio Spindle can stream.
const AUDIO_MP4_BRANDS: [&[u8; 4]; 12] = [
    b"M4A ", b"M4B ", b"M4P ", b"mp41", b"mp42", b"isom", b"iso2", b"iso3", b"iso4", b"iso5",
    b"iso6", b"dash",
];

/// An ISO base media ("ftyp" box first) file whose major or a compatible brand is one of
/// [`AUDIO_MP4_BRANDS`].
fn is_audio_mp4(head: &[u8]) -> bool {
    let Some(size) = head.get(..4) else {
        return false;
    };
    let size = u32::from_be_bytes([size[0], size[1], size[2], size[3]]) as usize;
    // 8 bytes of box header, the major brand and the minor version at least.
    if size < 16 || head.len() < 16 {
        return false;
    }
    let major = &head[8..12];
    let compatible = head[16..size.min(head.len())].chunks_exact(4);
    std::iter::once(major)
        .chain(compatible)
        .any(|brand| AUDIO_MP4_BRANDS.iter().any(|known| brand == &known[..]))
}

/// What [`probe`] found in an audio file.
#[derive(Debug, Clone, PartialEq)]
pub struct AudioInfo {
    pub duration_ms: u64,
    pub bitrate_kbps: Option<u32>,
    /// For Opus, always 48 000 Hz (what Opus decodes at), not the rate the encoder was fed.
    pub sample_rate: Option<u32>,
    pub channels: Option<u8>,
    /// The codec the file holds: usually [`AudioFormat::codec`]; "mp2" for MPEG layer II,
    /// "alac", "mp3" or "flac" for those in an MP4, "pcm_float" for a float WAV.
    pub codec: &'static str,
    pub title: Option<String>,
    pub artist: Option<String>,
    pub album: Option<String>,
    pub genre: Option<String>,
    pub year: Option<u32>,
    pub track: Option<u32>,
}

/// Reads the file with lofty as the sniffed format (not guessing again from the name), from the
/// start of `reader` whatever its position. The first bytes must sniff as `format` again.
///
/// `Err` holds a message for people when the file is corrupt or cut short, is not what its bytes
/// claim, holds a codec Spindle can't name, or has no duration: the caller answers 422. The
/// message is a lowercase clause about the file, with no full stop, for the caller to put in a
/// sentence ("its bytes are those of an MP3 file, not a FLAC file", "it is cut short: …").
pub fn probe<R: Read + Seek>(reader: &mut R, format: AudioFormat) -> Result<AudioInfo, String> {
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let mut head = Vec::with_capacity(SNIFF_BYTES);
    reader
        .by_ref()
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(io_error)?;
    match sniff_audio(&head) {
        Some(found) if found == format => read_as(reader, format),
        Some(found) => Err(format!(
            "its bytes are those of {}, not {}",
            found.label(),
            format.label()
        )),
        None => Err(format!(
            "its first bytes are not those of {}",
            format.label()
        )),
    }
}

/// Reads the whole file with lofty's reader for `format`, in strict mode.
fn read_as<R: Read + Seek>(reader: &mut R, format: AudioFormat) -> Result<AudioInfo, String> {
    reader.seek(SeekFrom::Start(0)).map_err(io_error)?;
    let options = ParseOptions::new()
        .parsing_mode(ParsingMode::Strict)
        .read_cover_art(false);
    let unreadable = |e: LoftyError| {
        let io = match e.kind() {
            ErrorKind::Io(io) => Some(io),
            ErrorKind::OggPage(page) => std::error::Error::source(page)
                .and_then(|source| source.downcast_ref::<std::io::Error>()),
            _ => None,
        };
        if io.is_some_and(|io| io.kind() == std::io::ErrorKind::UnexpectedEof) {
            format!("it ends too soon for {}", format.label())
        } else {
            format!("reading it as {} failed: {e}", format.label())
        }
    };

    let (file, codec): (TaggedFile, Option<&'static str>) = match format {
        AudioFormat::Mp3 => {
            let file = MpegFile::read_from(reader, options).map_err(unreadable)?;
            let codec = match file.properties().layer() {
                Layer::Layer3 => "mp3",
                Layer::Layer2 => "mp2",
                Layer::Layer1 => "mp1",
            };
            (file.into(), Some(codec))
        }
        AudioFormat::Flac => {
            let file = FlacFile::read_from(reader, options).map_err(unreadable)?;
            (file.into(), Some("flac"))
        }
        AudioFormat::OggVorbis => {
            let file = VorbisFile::read_from(reader, options).map_err(unreadable)?;
            (file.into(), Some("vorbis"))
        }
        AudioFormat::OggOpus => {
            let file = OpusFile::read_from(reader, options).map_err(unreadable)?;
            (file.into(), Some("opus"))
        }
        AudioFormat::M4a => {
            let file = Mp4File::read_from(reader, options).map_err(unreadable)?;
            let codec = match file.properties().codec() {
                Mp4Codec::AAC => Some("aac"),
                Mp4Codec::ALAC => Some("alac"),
                Mp4Codec::MP3 => Some("mp3"),
                Mp4Codec::FLAC => Some("flac"),
                _ => None,
            };
            (file.into(), codec)
        }
        AudioFormat::Wav => {
            let file = WavFile::read_from(reader, options).map_err(unreadable)?;
            let codec = match file.properties().format() {
                WavFormat::PCM => Some("pcm"),
                WavFormat::IEEE_FLOAT => Some("pcm_float"),
                WavFormat::Other(_) => None,
            };
            (file.into(), codec)
        }
    };
    let Some(codec) = codec else {
        return Err("its audio is in a codec Spindle does not support".to_owned());
    };

    let properties = file.properties();
    let duration_ms = u64::try_from(properties.duration().as_millis()).unwrap_or(u64::MAX);
    if duration_ms == 0 {
        return Err("it holds no audio: its duration is zero".to_owned());
    }
    if is_cut_short(reader, format, &file, duration_ms).map_err(io_error)? {
        return Err("it is cut short: it holds less audio than its headers claim".to_owned());
    }
    let bitrate_kbps = [properties.audio_bitrate(), properties.overall_bitrate()]
        .into_iter()
        .flatten()
        .find(|kbps| *kbps > 0);
    let sample_rate = match format {
        AudioFormat::OggOpus => Some(48_000),
        _ => properties.sample_rate().filter(|rate| *rate > 0),
    };
    let channels = properties.channels().filter(|channels| *channels > 0);

    // The format's main tag first, then any other (an MP3's ID3v1 or APE tag, say).
    let mut tags: Vec<&Tag> = file.primary_tag().into_iter().collect();
    for tag in file.tags() {
        if !tags.iter().any(|seen| std::ptr::eq(*seen, tag)) {
            tags.push(tag);
        }
    }
    let text = |field: fn(&Tag) -> Option<Cow<'_, str>>| {
        tags.iter().find_map(|tag| {
            let value = field(tag)?;
            let value = value.trim();
            (!value.is_empty()).then(|| value.to_owned())
        })
    };
    let number = |field: fn(&Tag) -> Option<u32>| {
        tags.iter()
            .find_map(|tag| field(tag).filter(|number| *number > 0))
    };

    Ok(AudioInfo {
        duration_ms,
        bitrate_kbps,
        sample_rate,
        channels,
        codec,
        title: text(|tag| tag.title()),
        artist: text(|tag| tag.artist()),
        album: text(|tag| tag.album()),
        genre: text(|tag| tag.genre()),
        year: number(|tag| tag.year()),
        track: number(|tag| tag.track()),
    })
}

/// Lofty takes the duration of an MP3 from its Xing or VBRI header, of a WAV from its data chunk's
/// size and of a FLAC from its STREAMINFO block, without checking that the audio is all there: a
/// file cut short still claims all of it. This checks that the file is long enough for the claim.
fn is_cut_short<R: Read + Seek>(
    reader: &mut R,
    format: AudioFormat,
    file: &TaggedFile,
    duration_ms: u64,
) -> std::io::Result<bool> {
    let length = reader.seek(SeekFrom::End(0))?;
    let needed = match format {
        // Their audio bitrate is what the headers claim (kbit/s × ms / 8 = bytes); 2 % of slack
        // for lofty's rounding of both numbers.
        AudioFormat::Mp3 | AudioFormat::Wav => match file.properties().audio_bitrate() {
            Some(kbps) => u64::from(kbps) * duration_ms / 8 * 98 / 100,
            None => 0,
        },
        AudioFormat::Flac => flac_min_len(reader)?.unwrap_or(0),
        // Lofty reads the end of an Ogg stream for its length, and refuses an MP4 whose media
        // data atom runs past the end of the file.
        AudioFormat::OggVorbis | AudioFormat::OggOpus | AudioFormat::M4a => 0,
    };
    Ok(length < needed)
}

/// The least length a FLAC file can have for what its STREAMINFO block says: every frame is at
/// least the minimum frame size, and there are at least total samples ÷ maximum block size
/// frames. `None` when the encoder left those fields unknown (zero).
fn flac_min_len<R: Read + Seek>(reader: &mut R) -> std::io::Result<Option<u64>> {
    let mut id3 = [0; 10];
    reader.seek(SeekFrom::Start(0))?;
    reader.read_exact(&mut id3)?;
    let start = id3v2_len(&id3).unwrap_or(0) as u64;
    // "fLaC", the first metadata block's header, then STREAMINFO's 34 bytes.
    let mut head = [0; 42];
    reader.seek(SeekFrom::Start(start))?;
    reader.read_exact(&mut head)?;
    if &head[..4] != b"fLaC" || head[4] & 0x7F != 0 {
        return Ok(None);
    }
    let info = &head[8..];
    let max_block = u64::from(u16::from_be_bytes([info[2], info[3]]));
    let min_frame = u64::from(u32::from_be_bytes([0, info[4], info[5], info[6]]));
    let samples = (u64::from(info[13] & 0x0F) << 32)
        | u64::from(u32::from_be_bytes([info[14], info[15], info[16], info[17]]));
    if max_block == 0 || min_frame == 0 {
        return Ok(None);
    }
    Ok(Some(start + 42 + samples.div_ceil(max_block) * min_frame))
}

fn io_error(e: std::io::Error) -> String {
    format!("it could not be read ({e})")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    macro_rules! fixture {
        ($name:literal) => {
            include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../tests/fixtures/media/",
                $name
            ))
        };
    }

    const MP3: &[u8] = fixture!("tone.mp3");
    const FLAC: &[u8] = fixture!("tone.flac");
    const OGG: &[u8] = fixture!("tone.ogg");
    const OPUS: &[u8] = fixture!("tone.opus");
    const M4A: &[u8] = fixture!("tone.m4a");
    const WAV: &[u8] = fixture!("tone.wav");
    const JPG: &[u8] = fixture!("cover.jpg");
    const PNG: &[u8] = fixture!("cover.png");
    const WEBP: &[u8] = fixture!("cover.webp");
    const CORRUPT_MP3: &[u8] = fixture!("corrupt.mp3");
    const FAKE_FLAC: &[u8] = fixture!("fake.flac");
    const TXT: &[u8] = fixture!("not-audio.txt");

    fn head(bytes: &[u8]) -> &[u8] {
        &bytes[..bytes.len().min(SNIFF_BYTES)]
    }

    fn probe_bytes(bytes: &[u8], format: AudioFormat) -> Result<AudioInfo, String> {
        probe(&mut Cursor::new(bytes), format)
    }

    /// `bytes` read by lofty as `format`, without `probe`'s second sniff.
    fn lofty_reads(bytes: &[u8], format: AudioFormat) -> Result<AudioInfo, String> {
        read_as(&mut Cursor::new(bytes), format)
    }

    fn assert_duration(info: &AudioInfo, real_ms: u64) {
        assert!(
            info.duration_ms.abs_diff(real_ms) <= 60,
            "duration {} ms, the real one {real_ms} ms",
            info.duration_ms
        );
    }

    /// `tone.mp3` without its ID3v2 tag: starts at the first frame's sync.
    fn mp3_without_id3() -> &'static [u8] {
        &MP3[id3v2_len(MP3).unwrap()..]
    }

    #[test]
    fn sniffs_every_audio_fixture_by_its_bytes() {
        assert_eq!(sniff_audio(head(MP3)), Some(AudioFormat::Mp3));
        assert_eq!(sniff_audio(head(FLAC)), Some(AudioFormat::Flac));
        assert_eq!(sniff_audio(head(OGG)), Some(AudioFormat::OggVorbis));
        assert_eq!(sniff_audio(head(OPUS)), Some(AudioFormat::OggOpus));
        assert_eq!(sniff_audio(head(M4A)), Some(AudioFormat::M4a));
        assert_eq!(sniff_audio(head(WAV)), Some(AudioFormat::Wav));
        // They start like what they pretend to be: sniffing says so, probing says no.
        assert_eq!(sniff_audio(head(CORRUPT_MP3)), Some(AudioFormat::Mp3));
        assert_eq!(sniff_audio(head(FAKE_FLAC)), Some(AudioFormat::Flac));
    }

    #[test]
    fn sniffs_text_and_images_as_not_audio() {
        for bytes in [
            TXT,
            JPG,
            PNG,
            WEBP,
            &[],
            &b"ID3"[..],
            &b"RIFF"[..],
            &b"OggS"[..],
        ] {
            assert_eq!(sniff_audio(head(bytes)), None);
        }
    }

    #[test]
    fn sniffs_images_and_nothing_else_as_images() {
        assert_eq!(sniff_image(head(JPG)), Some(ImageFormat::Jpeg));
        assert_eq!(sniff_image(head(PNG)), Some(ImageFormat::Png));
        assert_eq!(sniff_image(head(WEBP)), Some(ImageFormat::Webp));
        for bytes in [
            MP3,
            FLAC,
            OGG,
            OPUS,
            M4A,
            WAV,
            CORRUPT_MP3,
            FAKE_FLAC,
            TXT,
            &[][..],
        ] {
            assert_eq!(sniff_image(head(bytes)), None);
        }
        let mimes = [ImageFormat::Jpeg, ImageFormat::Png, ImageFormat::Webp].map(ImageFormat::mime);
        assert_eq!(mimes, ["image/jpeg", "image/png", "image/webp"]);
    }

    #[test]
    fn sniffs_mpeg_frames_without_a_tag() {
        assert_eq!(sniff_audio(head(mp3_without_id3())), Some(AudioFormat::Mp3));
        // A lone frame header, its next frame beyond the bytes given.
        assert_eq!(sniff_audio(&mp3_without_id3()[..4]), Some(AudioFormat::Mp3));
        // A first header whose next frame is not where its length says.
        let mut broken = head(mp3_without_id3()).to_vec();
        let len = mpeg_header(&broken).unwrap().len;
        broken[len] = 0;
        assert_eq!(sniff_audio(&broken), None);
        // ADTS (raw AAC) shares the sync word but has layer bits 00.
        assert_eq!(
            sniff_audio(&[0xFF, 0xF1, 0x50, 0x80, 0x02, 0x1F, 0xFC]),
            None
        );
        // MPEG layer I, a reserved version, a bad bitrate or sample rate index.
        for header in [
            [0xFF, 0xFE, 0x90, 0xC4],
            [0xFF, 0xEB, 0x90, 0xC4],
            [0xFF, 0xFB, 0xF0, 0xC4],
            [0xFF, 0xFB, 0x9C, 0xC4],
        ] {
            assert_eq!(sniff_audio(&header), None, "{header:02x?}");
        }
    }

    #[test]
    fn sniffs_flac_behind_an_id3_tag_as_flac() {
        let tag_len = id3v2_len(MP3).unwrap();
        let mut bytes = MP3[..tag_len].to_vec();
        bytes.extend_from_slice(FLAC);
        assert_eq!(sniff_audio(head(&bytes)), Some(AudioFormat::Flac));
    }

    #[test]
    fn sniffs_mp4_only_with_an_audio_brand() {
        let mut video = head(M4A).to_vec();
        // ftyp box: size 0x1c, "ftyp", major "M4A ", minor, compatible "M4A " "isom" "iso2".
        video[8..12].copy_from_slice(b"qt  ");
        video[16..28].copy_from_slice(b"qt  qt  qt  ");
        assert_eq!(sniff_audio(&video), None);
        video[20..24].copy_from_slice(b"mp42");
        assert_eq!(sniff_audio(&video), Some(AudioFormat::M4a));
    }

    #[test]
    fn formats_name_their_mime_and_codec() {
        let table = [
            (AudioFormat::Mp3, "audio/mpeg", "mp3"),
            (AudioFormat::Flac, "audio/flac", "flac"),
            (AudioFormat::OggVorbis, "audio/ogg", "vorbis"),
            (AudioFormat::OggOpus, "audio/ogg", "opus"),
            (AudioFormat::M4a, "audio/mp4", "aac"),
            (AudioFormat::Wav, "audio/wav", "pcm"),
        ];
        for (format, mime, codec) in table {
            assert_eq!((format.mime(), format.codec()), (mime, codec));
        }
    }

    #[test]
    fn probes_the_mp3_with_its_tags() {
        let info = probe_bytes(MP3, AudioFormat::Mp3).unwrap();
        assert_duration(&info, 2000);
        assert_eq!(info.sample_rate, Some(44_100));
        assert_eq!(info.channels, Some(1));
        assert_eq!(info.bitrate_kbps, Some(64));
        assert_eq!(info.codec, "mp3");
        assert_eq!(info.title.as_deref(), Some("Test Tone"));
        assert_eq!(info.artist.as_deref(), Some("Spindle Tester"));
        assert_eq!(info.album.as_deref(), Some("Fixtures"));
        assert_eq!(info.genre.as_deref(), Some("Electronic"));
        assert_eq!(info.year, Some(2026));
        assert_eq!(info.track, Some(3));
    }

    #[test]
    fn probes_the_flac_with_its_vorbis_comments() {
        let info = probe_bytes(FLAC, AudioFormat::Flac).unwrap();
        assert_duration(&info, 1500);
        assert_eq!(info.sample_rate, Some(16_000));
        assert_eq!(info.channels, Some(1));
        assert_eq!(info.codec, "flac");
        assert!(info.bitrate_kbps.is_some_and(|kbps| kbps > 0));
        assert_eq!(info.title.as_deref(), Some("Flac Tone"));
        assert_eq!(info.artist.as_deref(), Some("Spindle Tester"));
        assert_eq!(info.album, None);
        assert_eq!(info.genre, None);
        assert_eq!(info.year, Some(2026));
        assert_eq!(info.track, Some(1));
    }

    #[test]
    fn probes_ogg_vorbis_opus_m4a_and_wav() {
        let vorbis = probe_bytes(OGG, AudioFormat::OggVorbis).unwrap();
        assert_duration(&vorbis, 1000);
        assert_eq!(
            (vorbis.sample_rate, vorbis.channels),
            (Some(22_050), Some(1))
        );
        assert_eq!(vorbis.codec, "vorbis");
        assert_eq!(vorbis.title.as_deref(), Some("Vorbis Tone"));

        let opus = probe_bytes(OPUS, AudioFormat::OggOpus).unwrap();
        assert_duration(&opus, 1000);
        assert_eq!((opus.sample_rate, opus.channels), (Some(48_000), Some(1)));
        assert_eq!(opus.codec, "opus");
        assert_eq!(opus.title.as_deref(), Some("Opus Tone"));

        let m4a = probe_bytes(M4A, AudioFormat::M4a).unwrap();
        assert_duration(&m4a, 1000);
        assert_eq!((m4a.sample_rate, m4a.channels), (Some(44_100), Some(1)));
        assert_eq!(m4a.codec, "aac");
        assert_eq!(m4a.title, None);

        let wav = probe_bytes(WAV, AudioFormat::Wav).unwrap();
        assert_duration(&wav, 500);
        assert_eq!((wav.sample_rate, wav.channels), (Some(8_000), Some(1)));
        assert_eq!(wav.bitrate_kbps, Some(128));
        assert_eq!(wav.codec, "pcm");
        assert_eq!(wav.title, None);
    }

    #[test]
    fn probes_from_the_start_whatever_the_reader_position() {
        let mut reader = Cursor::new(FLAC);
        reader.seek(SeekFrom::End(0)).unwrap();
        assert_eq!(
            probe(&mut reader, AudioFormat::Flac),
            probe_bytes(FLAC, AudioFormat::Flac)
        );
    }

    #[test]
    fn rejects_corrupt_and_fake_files() {
        for (bytes, format) in [
            (CORRUPT_MP3, AudioFormat::Mp3),
            (FAKE_FLAC, AudioFormat::Flac),
            (&MP3[..300], AudioFormat::Mp3),
        ] {
            assert_eq!(sniff_audio(head(bytes)), Some(format));
            let result = probe_bytes(bytes, format);
            assert!(
                result.is_err(),
                "{format:?}, {} bytes: {result:?}",
                bytes.len()
            );
        }
    }

    #[test]
    fn rejects_files_cut_short() {
        let half = |bytes: &'static [u8]| &bytes[..bytes.len() / 2];
        for (bytes, format) in [
            // The MP3's Info header claims 2 s of frames: the claim must be there in full.
            (half(MP3), AudioFormat::Mp3),
            (&MP3[..MP3.len() - 1000], AudioFormat::Mp3),
            (&mp3_without_id3()[..300], AudioFormat::Mp3),
            (&FLAC[..300], AudioFormat::Flac),
            (half(FLAC), AudioFormat::Flac),
            (&WAV[..300], AudioFormat::Wav),
            (half(WAV), AudioFormat::Wav),
            (&OGG[..300], AudioFormat::OggVorbis),
            (&OPUS[..300], AudioFormat::OggOpus),
            (&M4A[..300], AudioFormat::M4a),
            (half(M4A), AudioFormat::M4a),
        ] {
            assert_eq!(sniff_audio(head(bytes)), Some(format));
            let result = probe_bytes(bytes, format);
            assert!(
                result.is_err(),
                "{format:?}, {} bytes: {result:?}",
                bytes.len()
            );
        }
        // Trailing bytes past the audio are no reason to refuse a file.
        let mut longer = WAV.to_vec();
        longer.extend_from_slice(&[0; 100]);
        assert!(probe_bytes(&longer, AudioFormat::Wav).is_ok());
    }

    #[test]
    fn rejects_a_file_probed_as_another_format() {
        let err = probe_bytes(MP3, AudioFormat::Flac).unwrap_err();
        assert_eq!(err, "its bytes are those of an MP3 file, not a FLAC file");
        assert!(probe_bytes(TXT, AudioFormat::Mp3).is_err());
        assert!(probe_bytes(JPG, AudioFormat::Mp3).is_err());
        // Lofty's own readers refuse them too, without probe's second sniff (its MPEG reader
        // searches the whole file for two frames in a row).
        let files = [
            (MP3, AudioFormat::Mp3),
            (FLAC, AudioFormat::Flac),
            (OGG, AudioFormat::OggVorbis),
            (OPUS, AudioFormat::OggOpus),
            (M4A, AudioFormat::M4a),
            (WAV, AudioFormat::Wav),
        ];
        for (bytes, real) in files {
            for (_, claimed) in files {
                if claimed == real {
                    continue;
                }
                assert!(
                    probe_bytes(bytes, claimed).is_err(),
                    "{real:?} as {claimed:?}"
                );
                assert!(
                    lofty_reads(bytes, claimed).is_err(),
                    "lofty read {real:?} as {claimed:?}"
                );
            }
        }
    }

    #[test]
    fn rejects_a_file_with_no_duration() {
        /// tone.wav with its data chunk holding the first `bytes` bytes of the samples only.
        fn wav_with_data(bytes: usize) -> Vec<u8> {
            let data = WAV.windows(4).position(|w| w == b"data").unwrap();
            let mut wav = WAV[..data + 8 + bytes].to_vec();
            let data_size = u32::try_from(bytes).unwrap();
            wav[data + 4..data + 8].copy_from_slice(&data_size.to_le_bytes());
            let riff_size = u32::try_from(wav.len() - 8).unwrap();
            wav[4..8].copy_from_slice(&riff_size.to_le_bytes());
            wav
        }
        // One 16-bit sample at 8 kHz: 0.125 ms, which lofty rounds to 0 ms.
        let one_sample = wav_with_data(2);
        assert_eq!(sniff_audio(&one_sample), Some(AudioFormat::Wav));
        assert_eq!(
            probe_bytes(&one_sample, AudioFormat::Wav),
            Err("it holds no audio: its duration is zero".to_owned())
        );
        // An empty data chunk: lofty refuses it itself.
        let result = probe_bytes(&wav_with_data(0), AudioFormat::Wav);
        assert!(result.is_err(), "{result:?}");
        // Ogg Opus with its header pages only.
        let headers_only = &OPUS[..OPUS.len() / 2];
        assert_eq!(
            probe_bytes(headers_only, AudioFormat::OggOpus),
            Err("it holds no audio: its duration is zero".to_owned())
        );
    }
}
