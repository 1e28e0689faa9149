//! Avatar pictures: the JPEG/PNG/GIF header reader behind `Avatar::parse`.
//!
//! Properties: an accepted picture is at most 64 KB, keeps its bytes and is
//! of a kind whose content type maps back to it; a picture refused for its
//! size reports a size other than 80×80.
#![no_main]

use kabinet_domain::avatar::{Avatar, AvatarError, ImageKind, MAX_BYTES, SIDE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Avatar::parse(data.to_vec()) {
        Ok(avatar) => {
            assert!(!data.is_empty() && data.len() <= MAX_BYTES);
            assert_eq!(avatar.bytes, data);
            assert_eq!(
                ImageKind::from_content_type(avatar.kind.content_type()),
                Some(avatar.kind)
            );
        }
        Err(AvatarError::Size { width, height }) => {
            assert!(width != SIDE || height != SIDE);
        }
        Err(AvatarError::Empty) => assert!(data.is_empty()),
        Err(AvatarError::TooLarge) => assert!(data.len() > MAX_BYTES),
        Err(AvatarError::UnknownFormat) => {}
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(kind) = ImageKind::from_content_type(text) {
            assert_eq!(kind.content_type(), text);
        }
    }
});
