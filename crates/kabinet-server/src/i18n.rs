//! Russian and English texts of the console and of error messages.

/// The reader's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    #[default]
    Ru,
    En,
}

impl Lang {
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ru => "ru",
            Lang::En => "en",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code.trim().to_ascii_lowercase().get(..2) {
            Some("ru") => Some(Lang::Ru),
            Some("en") => Some(Lang::En),
            _ => None,
        }
    }

    /// The first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        header
            .split(',')
            .find_map(|part| Lang::parse(part.split(';').next().unwrap_or("")))
    }
}

/// Looks up a text by key; an unknown key is shown as itself, so a missing
/// translation is visible rather than silent.
pub fn message(lang: Lang, key: &str) -> &str {
    match lookup(key) {
        Some((ru, en)) => match lang {
            Lang::Ru => ru,
            Lang::En => en,
        },
        None => key,
    }
}

fn lookup(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        // Errors of fields and requests.
        "required" => ("Обязательное поле", "This field is required"),
        "too_long" => ("Слишком длинное значение", "The value is too long"),
        "control_characters" => ("Недопустимые символы", "The value contains control characters"),
        "email.invalid" => ("Неверный адрес электронной почты", "Not a valid e-mail address"),
        "email.too_long" => ("Слишком длинный адрес", "The address is too long"),
        "phone.invalid" => ("Неверный номер телефона: ожидается, например, +7 (495) 123-45-67", "Not a valid phone number: expected e.g. +7 (495) 123-45-67"),
        "phones.too_many" => ("Слишком много номеров", "Too many phone numbers"),
        "timezone.invalid" => ("Неизвестный часовой пояс: ожидается имя IANA, например Europe/Moscow", "Unknown time zone: expected an IANA name such as Europe/Moscow"),
        "inn.digits" => ("ИНН состоит только из цифр", "An INN consists of digits only"),
        "inn.length" => ("ИНН — 10 цифр для организации или 12 для ИП", "An INN has 10 digits (organisation) or 12 (individual)"),
        "inn.checksum" => ("Неверные контрольные цифры ИНН", "The INN's control digits are wrong"),
        "inns.required" => ("Укажите хотя бы один ИНН", "Give at least one INN"),
        "inns.duplicate" => ("Этот ИНН уже указан", "This INN is listed twice"),
        "inns.too_many" => ("Слишком много ИНН", "Too many INNs"),
        "kpp.format" => ("КПП — 9 знаков: 4 цифры, 2 цифры или латинские буквы, 3 цифры", "A KPP has 9 characters: 4 digits, 2 digits or Latin capitals, 3 digits"),
        "ogrn.digits" => ("ОГРН состоит только из цифр", "An OGRN consists of digits only"),
        "ogrn.length" => ("ОГРН — 13 цифр, ОГРНИП — 15", "An OGRN has 13 digits, an OGRNIP 15"),
        "ogrn.checksum" => ("Неверная контрольная цифра ОГРН", "The OGRN's control digit is wrong"),
        "bik.format" => ("БИК — 9 цифр, начинается с 0", "A BIK has 9 digits and starts with 0"),
        "bik.required_for_accounts" => ("Для проверки счёта укажите БИК", "Give the BIK so that the account can be checked"),
        "correspondent_account.format" => ("Корр. счёт — 20 цифр, начинается с 301", "A correspondent account has 20 digits and starts with 301"),
        "correspondent_account.key" => ("Корр. счёт не сходится с БИК (контрольный ключ)", "The correspondent account does not match the BIK (control key)"),
        "settlement_account.format" => ("Расчётный счёт — 20 цифр", "A settlement account has 20 digits"),
        "settlement_account.key" => ("Расчётный счёт не сходится с БИК (контрольный ключ)", "The settlement account does not match the BIK (control key)"),
        "account_number.format" => ("Лицевой счёт — до 32 латинских букв, цифр или дефисов", "An account number has up to 32 Latin letters, digits or dashes"),
        "account_number.taken" => ("Такой лицевой счёт уже есть", "This account number is already in use"),
        "short_id.taken" => ("Такой короткий идентификатор уже есть", "This short id is already in use"),
        "number.invalid" => ("Ожидается целое число", "A whole number is expected"),
        "money.format" => ("Сумма: число с не более чем двумя знаками после запятой", "An amount: a number with at most two decimals"),
        "max_dialogs.range" => ("От 1 до 1 000 000", "From 1 to 1,000,000"),
        "parent.not_found" => ("Родительская компания не найдена", "The parent company was not found"),
        "parent.not_reseller" => ("Дочерние компании могут быть только у реселлера", "Only a reseller may have child companies"),
        "parent.cycle" => ("Компания не может находиться внутри самой себя", "A company cannot be placed inside itself"),
        "reseller.must_be_under_provider" => ("Реселлер может быть только компанией верхнего уровня: у зависимой компании не может быть своих", "A reseller must sit directly under the provider: an affiliate may not have affiliates"),
        "reseller.has_children" => ("У компании есть дочерние компании: сначала перенесите или удалите их", "The company has child companies: move or delete them first"),
        "login.characters" => ("Логин: только латинские буквы и цифры", "A login has Latin letters and digits only"),
        "login.too_long" => ("Логин — не длиннее 20 символов", "A login has at most 20 characters"),
        "login.taken" => ("Такой логин уже есть", "This login is already taken"),
        "kind.invalid" => ("Неизвестный тип пользователя", "Unknown kind of user"),
        "status.invalid" => ("Неизвестное состояние", "Unknown status"),
        "company.not_found" => ("Компания не найдена", "The company was not found"),
        "password.common" => ("Этот пароль слишком распространён: выберите другой", "This password is too common: choose another"),
        "user.deleted" => ("Пользователь удалён: восстановите его, чтобы изменить", "The user is deleted: restore them to edit"),
        "user.already_deleted" => ("Пользователь уже удалён", "The user is already deleted"),
        "user.not_deleted" => ("Пользователь не удалён", "The user is not deleted"),
        "user.cannot_delete_self" => ("Нельзя удалить самого себя", "You cannot delete yourself"),
        "user.cannot_block_self" => ("Нельзя заблокировать самого себя", "You cannot block yourself"),
        "user.company_deleted" => ("Компания пользователя удалена: сначала восстановите её", "The user's company is deleted: restore it first"),
        "password.too_short" => ("Пароль короче 8 символов", "The password is shorter than 8 characters"),
        "password.too_long" => ("Пароль длиннее 256 символов", "The password is longer than 256 characters"),
        // Problem titles.
        "validation_failed" => ("Проверьте выделенные поля", "Check the highlighted fields"),
        "unauthenticated" => ("Нужно войти", "Sign-in required"),
        "too_many_attempts" => ("Слишком много неудачных попыток входа: подождите и попробуйте снова", "Too many failed sign-ins: wait and try again"),
        "invalid_credentials" => ("Неверный логин или пароль", "Wrong login or password"),
        "forbidden" => ("Недостаточно прав", "Not allowed"),
        "not_found" => ("Не найдено", "Not found"),
        "stale_version" => ("Карточку изменил кто-то другой", "Someone else changed this record"),
        "company.deleted" => ("Компания удалена: восстановите её, чтобы изменить", "The company is deleted: restore it to edit"),
        "company.already_deleted" => ("Компания уже удалена", "The company is already deleted"),
        "company.cannot_delete_own" => ("Нельзя удалить собственную компанию", "You cannot delete your own company"),
        "company.has_children" => ("У компании есть дочерние компании: удалите их вместе с ней", "The company has child companies: delete them together with it"),
        "company.not_deleted" => ("Компания не удалена", "The company is not deleted"),
        "company.parent_deleted" => ("Сначала восстановите родительскую компанию", "Restore the parent company first"),
        "csrf" => ("Форма устарела: обновите страницу и повторите", "The form has expired: reload the page and try again"),
        "bad_request" => ("Неверный запрос", "Bad request"),
        "internal" => ("Внутренняя ошибка сервера", "Internal server error"),
        "precondition_required" => ("Нужен заголовок If-Match", "An If-Match header is required"),
        // Console texts.
        "app.title" => ("Кабинет", "Kabinet"),
        "nav.companies" => ("Компании", "Companies"),
        "nav.audit" => ("Журнал действий", "Audit log"),
        "nav.tokens" => ("API-токены", "API tokens"),
        "nav.api_docs" => ("API", "API"),
        "nav.logout" => ("Выйти", "Sign out"),
        "login.title" => ("Вход в кабинет", "Sign in"),
        "login.login" => ("Логин", "Login"),
        "login.password" => ("Пароль", "Password"),
        "login.submit" => ("Войти", "Sign in"),
        "companies.title" => ("Компании", "Companies"),
        "companies.new" => ("Новая компания", "New company"),
        "companies.search" => ("Поиск: название, ЛС, ИНН, телефон, id", "Search: name, account, INN, phone, id"),
        "companies.empty" => ("Ничего не найдено", "Nothing found"),
        "companies.shown" => ("Показано", "Shown"),
        "companies.of" => ("из", "of"),
        "filter.region" => ("Регион", "Region"),
        "filter.macroregion" => ("Макрорегион", "Macroregion"),
        "filter.reseller" => ("Реселлер", "Reseller"),
        "filter.deleted" => ("Удалённые", "Deleted"),
        "filter.any" => ("Все", "Any"),
        "filter.yes" => ("Да", "Yes"),
        "filter.no" => ("Нет", "No"),
        "filter.hide" => ("Скрыть", "Hide"),
        "filter.show" => ("Показать", "Show"),
        "filter.only" => ("Только удалённые", "Only deleted"),
        "filter.apply" => ("Применить", "Apply"),
        "filter.parent" => ("Дочерние компании", "Children of"),
        "filter.sort" => ("Сортировка", "Sort by"),
        "filter.direction" => ("Порядок", "Order"),
        "sort.asc" => ("По возрастанию", "Ascending"),
        "sort.desc" => ("По убыванию", "Descending"),
        "filter.clear" => ("Сбросить", "Clear"),
        "page.prev" => ("Назад", "Previous"),
        "page.next" => ("Вперёд", "Next"),
        "field.id" => ("ID", "ID"),
        "field.name" => ("Название", "Name"),
        "field.short_id" => ("Короткий идентификатор", "Short id"),
        "field.account_number" => ("Лицевой счёт", "Account number"),
        "field.pbx_number" => ("Номер АТС", "PBX number"),
        "field.multichannel_number" => ("Многоканальный номер", "Multichannel number"),
        "field.phones" => ("Дополнительные номера (по одному в строке)", "Extra phone numbers (one per line)"),
        "field.region" => ("Регион", "Region"),
        "field.macroregion" => ("Макрорегион", "Macroregion"),
        "field.inns" => ("ИНН (несколько — через запятую)", "INN (several: comma-separated)"),
        "field.inn" => ("ИНН", "INN"),
        "field.kpp" => ("КПП", "KPP"),
        "field.ogrn" => ("ОГРН / ОГРНИП", "OGRN / OGRNIP"),
        "field.bik" => ("БИК", "BIK"),
        "field.bank" => ("Банк", "Bank"),
        "field.correspondent_account" => ("Корр. счёт", "Correspondent account"),
        "field.settlement_account" => ("Расчётный счёт", "Settlement account"),
        "field.legal_address" => ("Юридический адрес", "Legal address"),
        "field.postal_address" => ("Почтовый адрес", "Postal address"),
        "field.email" => ("Эл. почта", "E-mail"),
        "field.phone" => ("Телефон", "Phone"),
        "field.timezone" => ("Часовой пояс", "Time zone"),
        "field.max_dialogs_per_operator" => ("Макс. диалогов на оператора", "Max dialogs per operator"),
        "field.tariff" => ("Тариф", "Tariff"),
        "field.is_reseller" => ("Реселлер", "Reseller"),
        "field.credit_limit" => ("Кредитный лимит", "Credit limit"),
        "field.balance_threshold" => ("Порог баланса", "Balance threshold"),
        "field.fz230_enabled" => ("Ограничения ФЗ-230", "230-FZ call rules"),
        "field.parent_id" => ("Родительская компания (ID)", "Parent company (ID)"),
        "field.children_count" => ("Клиентов", "Clients"),
        "field.status" => ("Состояние", "Status"),
        "field.version" => ("Версия", "Version"),
        "field.created_at" => ("Создана", "Created"),
        "field.updated_at" => ("Изменена", "Updated"),
        "section.general" => ("Основное", "General"),
        "section.requisites" => ("Реквизиты", "Requisites"),
        "section.contacts" => ("Контакты", "Contacts"),
        "section.service" => ("Обслуживание", "Service"),
        "status.active" => ("Активна", "Active"),
        "status.deleted" => ("Удалена", "Deleted"),
        "action.save" => ("Сохранить", "Save"),
        "action.cancel" => ("Отмена", "Cancel"),
        "action.edit" => ("Изменить", "Edit"),
        "action.delete" => ("Удалить", "Delete"),
        "action.restore" => ("Восстановить", "Restore"),
        "action.back" => ("К списку", "Back to list"),
        "action.children" => ("Дочерние компании", "Child companies"),
        "action.history" => ("История изменений", "Change history"),
        "action.create" => ("Создать", "Create"),
        "delete.title" => ("Удалить компанию?", "Delete the company?"),
        "delete.explain" => ("Компания будет скрыта и доступна для восстановления 12 месяцев. Все её пользователи сразу потеряют доступ.", "The company will be hidden and can be restored for 12 months. All its users lose access at once."),
        "delete.children" => ("У компании есть дочерние компании:", "The company has child companies:"),
        "delete.cascade" => ("Удалить вместе с дочерними компаниями", "Delete together with its child companies"),
        "delete.confirm" => ("Да, удалить", "Yes, delete"),
        "restore.title" => ("Восстановить компанию?", "Restore the company?"),
        "restore.explain" => ("Будут восстановлены все компании, удалённые вместе с этой.", "Every company deleted together with this one is restored."),
        "restore.confirm" => ("Да, восстановить", "Yes, restore"),
        "flash.created" => ("Компания создана", "Company created"),
        "flash.saved" => ("Изменения сохранены", "Changes saved"),
        "flash.deleted" => ("Компания удалена", "Company deleted"),
        "flash.restored" => ("Компания восстановлена", "Company restored"),
        "stale.explain" => ("Пока вы редактировали, карточку изменил кто-то другой. Ниже — сохранённые сейчас значения; ваши правки остались в форме. Сохраните ещё раз, чтобы записать их поверх.", "While you were editing, someone else changed this card. The values saved now are shown below; your edits are still in the form. Save again to write them over."),
        "stale.current" => ("Сейчас сохранено", "Saved now"),
        "form.errors" => ("Исправьте ошибки в отмеченных полях", "Fix the errors in the marked fields"),
        "audit.title" => ("Журнал действий", "Audit log"),
        "audit.at" => ("Время", "Time"),
        "audit.actor" => ("Кто", "Who"),
        "audit.on_behalf_of" => ("От имени", "On behalf of"),
        "audit.action" => ("Действие", "Action"),
        "audit.entity" => ("Объект", "Object"),
        "audit.ip" => ("IP", "IP"),
        "audit.changes" => ("Изменения", "Changes"),
        "audit.before" => ("Было", "Before"),
        "audit.after" => ("Стало", "After"),
        "tokens.title" => ("API-токены", "API tokens"),
        "tokens.name" => ("Название", "Name"),
        "tokens.prefix" => ("Начало", "Starts with"),
        "tokens.created" => ("Создан", "Created"),
        "tokens.last_used" => ("Использован", "Last used"),
        "tokens.create" => ("Создать токен", "Create token"),
        "tokens.revoke" => ("Отозвать", "Revoke"),
        "tokens.shown_once" => ("Скопируйте токен сейчас: он показывается один раз.", "Copy the token now: it is shown only once."),
        "tokens.none" => ("Токенов нет", "No tokens"),
        "tokens.usage" => ("Передавайте токен в заголовке Authorization: Bearer <токен>.", "Send the token as Authorization: Bearer <token>."),
        "confirm.revoke" => ("Отозвать токен? Программы, которые им пользуются, потеряют доступ.", "Revoke the token? Programs using it lose access."),
        "lang.switch" => ("English", "Русский"),
        // Console texts of the people pages (console_users.rs) go below.
        // -- users texts start --
        // -- users texts end --
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_domain_error_code_has_both_languages() {
        for code in [
            "inn.checksum",
            "inn.length",
            "inn.digits",
            "kpp.format",
            "ogrn.checksum",
            "bik.format",
            "correspondent_account.key",
            "settlement_account.key",
            "phone.invalid",
            "email.invalid",
            "timezone.invalid",
            "money.format",
            "parent.not_reseller",
            "reseller.must_be_under_provider",
        ] {
            assert_ne!(message(Lang::Ru, code), code);
            assert_ne!(message(Lang::En, code), message(Lang::Ru, code));
        }
    }

    #[test]
    fn accept_language() {
        assert_eq!(
            Lang::from_accept_language("de-DE,en;q=0.8,ru;q=0.5"),
            Some(Lang::En)
        );
        assert_eq!(Lang::from_accept_language("ru-RU"), Some(Lang::Ru));
        assert_eq!(Lang::from_accept_language("fr"), None);
    }
}
