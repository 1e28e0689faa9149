//! Avatars (B5): JPEG, PNG or GIF, recognised by their content, at most
//! 64 KB, exactly 80×80 pixels.

pub const MAX_BYTES: usize = 64 * 1024;
pub const SIDE: u32 = 80;

/// The picture formats accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    Jpeg,
    Png,
    Gif,
}

impl ImageKind {
    pub fn content_type(self) -> &'static str {
        match self {
            ImageKind::Jpeg => "image/jpeg",
            ImageKind::Png => "image/png",
            ImageKind::Gif => "image/gif",
        }
    }

    pub fn from_content_type(text: &str) -> Option<Self> {
        [ImageKind::Jpeg, ImageKind::Png, ImageKind::Gif]
            .into_iter()
            .find(|k| k.content_type() == text)
    }
}

/// A checked avatar picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Avatar {
    pub kind: ImageKind,
    pub bytes: Vec<u8>,
}

/// Why a picture was refused; `Size` carries what was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AvatarError {
    Empty,
    TooLarge,
    UnknownFormat,
    Size { width: u32, height: u32 },
}

impl AvatarError {
    pub fn code(&self) -> &'static str {
        match self {
            AvatarError::Empty => "avatar.empty",
            AvatarError::TooLarge => "avatar.too_large",
            AvatarError::UnknownFormat => "avatar.format",
            AvatarError::Size { .. } => "avatar.size",
        }
    }
}

fn be16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(*b.get(at)?) << 8 | u32::from(*b.get(at + 1)?))
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    Some(be16(b, at)? << 16 | be16(b, at + 2)?)
}

fn le16(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from(*b.get(at)?) | u32::from(*b.get(at + 1)?) << 8)
}

/// The format and size of a picture, read from its header.
fn dimensions(bytes: &[u8]) -> Option<(ImageKind, u32, u32)> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.get(12..16) == Some(b"IHDR") {
        return Some((ImageKind::Png, be32(bytes, 16)?, be32(bytes, 20)?));
    }
    if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        return Some((ImageKind::Gif, le16(bytes, 6)?, le16(bytes, 8)?));
    }
    if bytes.starts_with(&[0xFF, 0xD8]) {
        // Walk the segments to the first start-of-frame marker.
        let mut at = 2;
        while at + 4 <= bytes.len() {
            if bytes[at] != 0xFF {
                return None;
            }
            let marker = bytes[at + 1];
            let length = be16(bytes, at + 2)? as usize;
            let is_frame = (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker);
            if is_frame {
                return Some((ImageKind::Jpeg, be16(bytes, at + 7)?, be16(bytes, at + 5)?));
            }
            at += 2 + length;
        }
    }
    None
}

impl Avatar {
    pub fn parse(bytes: Vec<u8>) -> Result<Self, AvatarError> {
        if bytes.is_empty() {
            return Err(AvatarError::Empty);
        }
        if bytes.len() > MAX_BYTES {
            return Err(AvatarError::TooLarge);
        }
        let (kind, width, height) = dimensions(&bytes).ok_or(AvatarError::UnknownFormat)?;
        if width != SIDE || height != SIDE {
            return Err(AvatarError::Size { width, height });
        }
        Ok(Self { kind, bytes })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub fn png(width: u32, height: u32) -> Vec<u8> {
        let mut bytes = b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR".to_vec();
        bytes.extend(width.to_be_bytes());
        bytes.extend(height.to_be_bytes());
        bytes.extend([8, 6, 0, 0, 0]);
        bytes
    }

    fn gif(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = b"GIF89a".to_vec();
        bytes.extend(width.to_le_bytes());
        bytes.extend(height.to_le_bytes());
        bytes.extend([0, 0, 0]);
        bytes
    }

    fn jpeg(width: u16, height: u16) -> Vec<u8> {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x4A, 0x46];
        bytes.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
        bytes.extend(height.to_be_bytes());
        bytes.extend(width.to_be_bytes());
        bytes.extend([3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1]);
        bytes
    }

    #[test]
    fn formats_are_recognised_by_content() {
        assert_eq!(Avatar::parse(png(80, 80)).unwrap().kind, ImageKind::Png);
        assert_eq!(Avatar::parse(gif(80, 80)).unwrap().kind, ImageKind::Gif);
        assert_eq!(Avatar::parse(jpeg(80, 80)).unwrap().kind, ImageKind::Jpeg);
        assert_eq!(
            Avatar::parse(b"<svg onload=alert(1)>".to_vec()),
            Err(AvatarError::UnknownFormat)
        );
        assert_eq!(Avatar::parse(Vec::new()), Err(AvatarError::Empty));
    }

    #[test]
    fn size_and_weight_are_checked() {
        assert_eq!(
            Avatar::parse(png(81, 80)),
            Err(AvatarError::Size {
                width: 81,
                height: 80
            })
        );
        assert_eq!(
            Avatar::parse(jpeg(640, 480)),
            Err(AvatarError::Size {
                width: 640,
                height: 480
            })
        );
        let mut heavy = png(80, 80);
        heavy.resize(MAX_BYTES + 1, 0);
        assert_eq!(Avatar::parse(heavy), Err(AvatarError::TooLarge));
    }
}
